import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { CONFIG_VARIABLES, ConfigError, loadConfig, redactedConfig, redactSecretUrl, type OperatorConfig } from "../../../operator/config";
import { createLogger } from "../../../operator/log";

const PRIVATE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const OTHER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const SETTLEMENT_998 = "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0";
const COMMITMENT_998 = "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9";
const BASE = "0x1111111111111111111111111111111111111111";
const QUOTE = "0x2222222222222222222222222222222222222222";

interface RawMarket {
  [key: string]: unknown;
}

function market(fields: RawMarket = {}): RawMarket {
  return {
    id: 1,
    symbol: "HYPE-USDC",
    baseToken: BASE,
    quoteToken: QUOTE,
    baseDecimals: 18,
    tickSize: "1000",
    lotSize: "1000000000000000",
    minLots: 10,
    makerFeeBps: 2,
    takerFeeBps: 5,
    ...fields,
  };
}

function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    HYPERINDEX_RPC_URL: "https://rpc.hyperliquid.xyz/evm",
    HYPERINDEX_CHAIN_ID: "999",
    HYPERINDEX_SETTLEMENT_ADDRESS: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    HYPERINDEX_COMMITMENT_ADDRESS: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
    HYPERINDEX_OPERATOR_PRIVATE_KEY: PRIVATE_KEY,
    HYPERINDEX_MARKETS: JSON.stringify([market()]),
    // Variables of other programs are none of the operator's business.
    PATH: "/usr/bin",
    HOME: "/root",
    ...extra,
  };
}

function configError(env: Record<string, string | undefined>, options = {}): ConfigError {
  try {
    loadConfig(env, options);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).code).to.equal("CONFIG_INVALID");
    expect((error as ConfigError).name).to.equal("ConfigError");
    return error as ConfigError;
  }
  return expect.fail("expected a ConfigError");
}

describe("operator/config loadConfig", () => {
  it("parses a minimal environment into a typed config with every default", () => {
    const config = loadConfig(baseEnv(), { cpuCount: 6 });
    expect(config.redis).to.deep.include({ mode: "single", url: "redis://127.0.0.1:6379", appendfsync: "everysec", timeoutMs: 10_000 });
    expect(config.chains).to.have.length(1);
    const { operatorPrivateKey, ...chain } = config.chains[0];
    expect(chain).to.deep.equal({
      chainId: 999,
      name: "chain-999",
      rpcUrl: "https://rpc.hyperliquid.xyz/evm",
      settlementAddress: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
      commitmentAddress: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
      orderDomain: { chainId: 999n, verifyingContract: "0x5fbdb2315678afecb367f032d93f642f64180aa3" },
      operatorKeyVariable: "HYPERINDEX_OPERATOR_PRIVATE_KEY",
      confirmations: 2,
      settlementGasBudget: 2_700_000,
      rpcRequestsPerMinute: 100,
      logRangeBlocks: 50,
      pollIntervalMs: 1_000,
      maxInFlightTxs: 8,
      txStuckAfterMs: 15_000,
      feeBumpBps: 1_500,
      batchMaxWaitMs: 1_000,
      startBlock: undefined,
      sources: {
        chainId: "HYPERINDEX_CHAIN_ID",
        rpcUrl: "HYPERINDEX_RPC_URL",
        settlementAddress: "HYPERINDEX_SETTLEMENT_ADDRESS",
        commitmentAddress: "HYPERINDEX_COMMITMENT_ADDRESS",
      },
    });
    expect(operatorPrivateKey.reveal()).to.equal(PRIVATE_KEY);
    expect(config.http).to.deep.equal({ host: "127.0.0.1", port: 8080, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, shutdownDrainMs: 10_000 });
    expect(config.limits).to.deep.equal({
      maxBodyBytes: 131_072,
      maxOrdersPerRequest: 100,
      placeRateLimit: { burst: 200, perSecond: 100 },
      cancelRateLimit: { burst: 400, perSecond: 200 },
      maxOpenOrdersPerTrader: 1_000,
      maxExpirySeconds: 2_592_000n,
    });
    expect(config.verifier).to.deep.equal({ poolSize: 6, erc1271TimeoutMs: 2_000 });
    expect(config.tasks).to.deep.equal({ sweepIntervalMs: 1_000, journalTrimIntervalMs: 1_000 });
    expect(config.journal).to.deep.equal({ maxLagEntries: 100_000, orderRetentionMs: 3_600_000 });
    expect(config.logLevel).to.equal("info");
    expect(config.markets).to.deep.equal([
      {
        id: 1,
        symbol: "HYPE-USDC",
        chainId: 999,
        baseToken: BASE,
        quoteToken: QUOTE,
        baseDecimals: 18,
        tickSize: 1000n,
        lotSize: 10n ** 15n,
        minLots: 10,
        makerFeeBps: 2,
        takerFeeBps: 5,
        maxPriceTicks: 1_000_000_000_000,
        maxLots: 1_000_000_000_000,
        scale: 10n ** 18n,
        quotePerLotTick: 1n,
      },
    ]);
  });

  it("defaults the verifier pool to the machine's cores", () => {
    expect(loadConfig(baseEnv()).verifier.poolSize).to.equal(os.availableParallelism());
  });

  it("reads every variable when set", () => {
    const config = loadConfig(
      baseEnv({
        HYPERINDEX_REDIS_CLUSTER_NODES: "10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002",
        HYPERINDEX_REDIS_PASSWORD: "hunter2",
        HYPERINDEX_REDIS_APPENDFSYNC: "always",
        HYPERINDEX_HTTP_HOST: "0.0.0.0",
        HYPERINDEX_HTTP_PORT: "9000",
        HYPERINDEX_MAX_BODY_BYTES: "65536",
        HYPERINDEX_MAX_ORDERS_PER_REQUEST: "50",
        HYPERINDEX_RATE_LIMIT_PLACE_BURST: "10",
        HYPERINDEX_RATE_LIMIT_PLACE_PER_SECOND: "5",
        HYPERINDEX_RATE_LIMIT_CANCEL_BURST: "20",
        HYPERINDEX_RATE_LIMIT_CANCEL_PER_SECOND: "7",
        HYPERINDEX_MAX_OPEN_ORDERS_PER_TRADER: "30",
        HYPERINDEX_MAX_EXPIRY_SECONDS: "3600",
        HYPERINDEX_VERIFIER_POOL_SIZE: "3",
        HYPERINDEX_ERC1271_TIMEOUT_MS: "500",
        HYPERINDEX_CONFIRMATIONS: "5",
        HYPERINDEX_SETTLEMENT_GAS_BUDGET: "2500000",
        HYPERINDEX_SWEEP_INTERVAL_MS: "250",
        HYPERINDEX_JOURNAL_TRIM_INTERVAL_MS: "2000",
        HYPERINDEX_JOURNAL_MAX_LAG: "5000",
        HYPERINDEX_ORDER_RETENTION_SECONDS: "60",
        HYPERINDEX_LOG_LEVEL: "debug",
      }),
    );
    expect(config.chains[0]).to.deep.include({ confirmations: 5, settlementGasBudget: 2_500_000 });
    expect(config.tasks).to.deep.equal({ sweepIntervalMs: 250, journalTrimIntervalMs: 2_000 });
    expect(config.journal).to.deep.equal({ maxLagEntries: 5_000, orderRetentionMs: 60_000 });
    expect(config.redis.mode).to.equal("cluster");
    if (config.redis.mode !== "cluster") return;
    expect(config.redis.nodes).to.deep.equal([
      { host: "10.0.0.1", port: 7000 },
      { host: "10.0.0.2", port: 7001 },
      { host: "::1", port: 7002 },
    ]);
    expect(config.redis.password?.reveal()).to.equal("hunter2");
    expect(config.redis.appendfsync).to.equal("always");
    expect(config.http).to.deep.include({ host: "0.0.0.0", port: 9000 });
    expect(config.limits.placeRateLimit).to.deep.equal({ burst: 10, perSecond: 5 });
    expect(config.limits.cancelRateLimit).to.deep.equal({ burst: 20, perSecond: 7 });
    expect(config.limits.maxExpirySeconds).to.equal(3600n);
    expect(config.verifier).to.deep.equal({ poolSize: 3, erc1271TimeoutMs: 500 });
    expect(config.logLevel).to.equal("debug");
  });

  it("treats an empty value as unset", () => {
    expect(loadConfig(baseEnv({ HYPERINDEX_HTTP_PORT: "", HYPERINDEX_REDIS_URL: "" })).http.port).to.equal(8080);
    expect(configError(baseEnv({ HYPERINDEX_RPC_URL: "" })).message).to.contain("HYPERINDEX_RPC_URL: required, but not set");
  });

  it("returns a frozen config", () => {
    const config = loadConfig(baseEnv()) as OperatorConfig & { http: { port: number } };
    expect(() => {
      (config.http as { port: number }).port = 1;
    }).to.throw(TypeError);
    expect(Object.isFrozen(config.markets[0])).to.equal(true);
  });

  it('fails with a message naming the variable: HYPERINDEX_CHAIN_ID: expected a positive integer, got "abc"', () => {
    const error = configError(baseEnv({ HYPERINDEX_CHAIN_ID: "abc" }));
    expect(error.message).to.equal('invalid configuration: HYPERINDEX_CHAIN_ID: expected a positive integer, got "abc"');
    expect(error.issues).to.deep.equal([{ variable: "HYPERINDEX_CHAIN_ID", message: 'expected a positive integer, got "abc"' }]);
  });

  for (const [variable, value, expected] of [
    ["HYPERINDEX_CHAIN_ID", "0", "expected a positive integer"],
    ["HYPERINDEX_CHAIN_ID", "-1", "expected a positive integer"],
    ["HYPERINDEX_CHAIN_ID", "1e3", "expected a positive integer"],
    ["HYPERINDEX_CHAIN_ID", "0999", "expected a positive integer"],
    ["HYPERINDEX_CHAIN_ID", " 999", "expected a positive integer"],
    ["HYPERINDEX_HTTP_PORT", "70000", "expected a port number from 1 to 65535"],
    ["HYPERINDEX_SETTLEMENT_ADDRESS", "0x1234", "expected an address"],
    ["HYPERINDEX_SETTLEMENT_ADDRESS", "0x5FbDB2315678afecb367f032d93F642f64180aA3", "wrong EIP-55 checksum"],
    ["HYPERINDEX_COMMITMENT_ADDRESS", "0x0000000000000000000000000000000000000000", "zero address"],
    ["HYPERINDEX_RPC_URL", "not a url", "expected a http or https or ws or wss URL"],
    ["HYPERINDEX_RPC_URL", "ftp://rpc.example", "got a ftp: URL"],
    ["HYPERINDEX_REDIS_URL", "http://127.0.0.1:6379", "expected a redis or rediss URL"],
    ["HYPERINDEX_REDIS_CLUSTER_NODES", "10.0.0.1:7000,10.0.0.2", "expected a comma-separated list of host:port"],
    ["HYPERINDEX_REDIS_APPENDFSYNC", "sometimes", "expected one of always, everysec, no"],
    ["HYPERINDEX_LOG_LEVEL", "verbose", "expected one of fatal, error, warn, info, debug, trace, silent"],
    ["HYPERINDEX_VERIFIER_POOL_SIZE", "0", "expected a positive integer"],
    ["HYPERINDEX_MAX_EXPIRY_SECONDS", "1.5", "expected a positive integer"],
    ["HYPERINDEX_RATE_LIMIT_PLACE_BURST", "many", "expected a positive integer"],
  ] as const) {
    it(`refuses ${variable}=${JSON.stringify(value)}`, () => {
      const error = configError(baseEnv({ [variable]: value }));
      expect(error.issues).to.have.length(1);
      expect(error.issues[0].variable).to.equal(variable);
      expect(error.issues[0].message).to.contain(expected);
    });
  }

  it("reports every bad variable at once", () => {
    const error = configError(
      baseEnv({ HYPERINDEX_CHAIN_ID: "x", HYPERINDEX_HTTP_PORT: "0", HYPERINDEX_SETTLEMENT_ADDRESS: undefined, HYPERINDEX_MARKETS: "[" }),
    );
    expect(error.issues.map((i) => i.variable).sort()).to.deep.equal([
      "HYPERINDEX_CHAIN_ID",
      "HYPERINDEX_HTTP_PORT",
      "HYPERINDEX_MARKETS",
      "HYPERINDEX_SETTLEMENT_ADDRESS",
    ]);
    expect(error.message.split("\n")).to.have.length(5);
  });

  it("refuses an unknown HYPERINDEX_ variable and suggests the closest one", () => {
    const error = configError(baseEnv({ HYPERINDEX_CHAIN_IDD: "999" }));
    expect(error.issues).to.deep.equal([
      { variable: "HYPERINDEX_CHAIN_IDD", message: "unknown variable (did you mean HYPERINDEX_CHAIN_ID?)" },
    ]);
  });

  it("refuses a Redis URL together with cluster nodes", () => {
    const error = configError(baseEnv({ HYPERINDEX_REDIS_URL: "redis://a:6379", HYPERINDEX_REDIS_CLUSTER_NODES: "b:7000" }));
    expect(error.message).to.contain("HYPERINDEX_REDIS_URL: set either HYPERINDEX_REDIS_URL (one node) or HYPERINDEX_REDIS_CLUSTER_NODES");
  });

  it("refuses a Redis password given twice", () => {
    const error = configError(baseEnv({ HYPERINDEX_REDIS_URL: "redis://:pw@a:6379", HYPERINDEX_REDIS_PASSWORD: "pw" }));
    expect(error.issues[0].variable).to.equal("HYPERINDEX_REDIS_PASSWORD");
    expect(error.message).to.not.contain("pw@");
  });

  describe("the operator private key", () => {
    it("is required", () => {
      expect(configError(baseEnv({ HYPERINDEX_OPERATOR_PRIVATE_KEY: undefined })).message).to.contain(
        "HYPERINDEX_OPERATOR_PRIVATE_KEY: required, but not set",
      );
    });

    for (const [label, bad] of [
      ["a short key", "0x59c6995e998f97a5a0044966f0945389dc9e86da"],
      ["a key without 0x", PRIVATE_KEY.slice(2)],
      ["the zero key", `0x${"0".repeat(64)}`],
      ["a key above the curve order", `0x${"f".repeat(64)}`],
    ] as const) {
      it(`refuses ${label} without ever echoing it`, () => {
        const error = configError(baseEnv({ HYPERINDEX_OPERATOR_PRIVATE_KEY: bad }));
        expect(error.issues[0].variable).to.equal("HYPERINDEX_OPERATOR_PRIVATE_KEY");
        expect(error.message).to.contain("value not shown: secret");
        const everything = `${error.message} ${JSON.stringify(error.toJSON())} ${inspect(error, { depth: 10 })}`;
        expect(everything).to.not.contain(bad.replace(/^0x/, "").slice(0, 16));
      });
    }

    it("never shows up in JSON.stringify, util.inspect, String, pino logs or redactedConfig", () => {
      const config = loadConfig(baseEnv());
      const secret = PRIVATE_KEY.slice(2);
      const lines: string[] = [];
      const logger = createLogger({ level: "info", destination: { write: (line: string) => lines.push(line) } });
      logger.info({ config }, "config");
      logger.info({ config: redactedConfig(config) }, "config");
      const outputs = [
        JSON.stringify(redactedConfig(config)),
        inspect(config, { depth: 10 }),
        inspect(redactedConfig(config), { depth: 10 }),
        String(config.chains[0].operatorPrivateKey),
        `${config.chains[0].operatorPrivateKey}`,
        lines.join("\n"),
      ];
      for (const output of outputs) expect(output).to.not.contain(secret);
      expect(JSON.stringify(redactedConfig(config))).to.contain('"operatorPrivateKey":"[redacted]"');
      expect(lines).to.have.length(2);
    });
  });

  describe("redactedConfig", () => {
    it("strips credentials, key-like path segments and query values from URLs", () => {
      const config = loadConfig(
        baseEnv({
          HYPERINDEX_RPC_URL: "https://alice:s3cret@rpc.example.com/v2/a1b2c3d4e5f6a7b8c9d0?apikey=k3y",
          HYPERINDEX_REDIS_URL: "rediss://default:r3dis@cache.example.com:6380/0",
        }),
      );
      const text = JSON.stringify(redactedConfig(config));
      for (const leaked of ["s3cret", "alice", "a1b2c3d4e5f6a7b8c9d0", "k3y", "r3dis"]) expect(text).to.not.contain(leaked);
      expect(text).to.contain("rpc.example.com/v2/redacted?apikey=redacted");
      expect(text).to.contain("cache.example.com:6380");
    });

    it("keeps harmless paths readable", () => {
      expect(redactSecretUrl("https://rpc.hyperliquid.xyz/evm")).to.equal("https://rpc.hyperliquid.xyz/evm");
    });

    it("is JSON-safe (bigints as decimal strings)", () => {
      const redacted = JSON.parse(JSON.stringify(redactedConfig(loadConfig(baseEnv()))));
      expect(redacted.markets[0].lotSize).to.equal("1000000000000000");
      expect(redacted.limits.maxExpirySeconds).to.equal("2592000");
      expect(redacted.chains[0].orderDomain.chainId).to.equal("999");
    });
  });

  describe("markets", () => {
    it("reads them from a JSON file", () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperindex-config-"));
      try {
        const file = path.join(dir, "markets.json");
        fs.writeFileSync(file, JSON.stringify([market(), market({ id: 2, symbol: "ETH-USDC", baseToken: "0x3333333333333333333333333333333333333333" })]));
        const config = loadConfig(baseEnv({ HYPERINDEX_MARKETS: undefined, HYPERINDEX_MARKETS_FILE: file }));
        expect(config.markets.map((m) => m.symbol)).to.deep.equal(["HYPE-USDC", "ETH-USDC"]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("names the file and the field in errors", () => {
      const error = configError(baseEnv({ HYPERINDEX_MARKETS: undefined, HYPERINDEX_MARKETS_FILE: "/etc/m.json" }), {
        readFile: () => JSON.stringify([market({ tickSize: 1000 })]),
      });
      expect(error.issues[0].variable).to.equal("HYPERINDEX_MARKETS_FILE (/etc/m.json)[0].tickSize");
      expect(error.issues[0].message).to.contain('as a decimal string (e.g. "1000"), got 1000');
    });

    it("reports a file that cannot be read", () => {
      const error = configError(baseEnv({ HYPERINDEX_MARKETS: undefined, HYPERINDEX_MARKETS_FILE: "/nonexistent/markets.json" }));
      expect(error.issues[0].variable).to.equal("HYPERINDEX_MARKETS_FILE");
      expect(error.issues[0].message).to.contain("cannot read /nonexistent/markets.json");
    });

    it("requires exactly one of HYPERINDEX_MARKETS and HYPERINDEX_MARKETS_FILE", () => {
      expect(configError(baseEnv({ HYPERINDEX_MARKETS: undefined })).message).to.contain("HYPERINDEX_MARKETS: required, but not set");
      expect(configError(baseEnv({ HYPERINDEX_MARKETS_FILE: "/x.json" })).message).to.contain("not both");
    });

    it("refuses a market where lotSize x tickSize is not a multiple of 10^baseDecimals, naming the market", () => {
      // 1000 * 10^14 = 10^17: not a multiple of 10^18.
      const error = configError(baseEnv({ HYPERINDEX_MARKETS: JSON.stringify([market({ symbol: "BAD-MKT", lotSize: "100000000000000" })]) }));
      expect(error.issues).to.have.length(1);
      expect(error.issues[0].variable).to.equal("HYPERINDEX_MARKETS[0].lotSize");
      expect(error.issues[0].message).to.contain("market BAD-MKT: lotSize x tickSize = 100000000000000000 is not a multiple of 10^18");
    });

    it("accepts a market whose tick and lot divide exactly through the product only", () => {
      // tick 2^18, lot 5^18: neither alone is a multiple of 10^18, the product is.
      const config = loadConfig(
        baseEnv({ HYPERINDEX_MARKETS: JSON.stringify([market({ tickSize: (2n ** 18n).toString(), lotSize: (5n ** 18n).toString() })]) }),
      );
      expect(config.markets[0].tickSize * config.markets[0].lotSize).to.equal(10n ** 18n);
    });

    for (const [label, fields, where, expected] of [
      ["a JSON number for an amount", { lotSize: 1e15 }, "[0].lotSize", "as a decimal string"],
      ["a zero tick", { tickSize: "0" }, "[0].tickSize", "above zero"],
      ["a leading-zero decimal", { tickSize: "01000" }, "[0].tickSize", "as a decimal string"],
      ["minLots as a string", { minLots: "10" }, "[0].minLots", "expected an integer from 1"],
      ["zero minLots", { minLots: 0 }, "[0].minLots", "expected an integer from 1"],
      ["a market id above 16 bits", { id: 65_536 }, "[0].id", "from 0 to 65535"],
      ["a symbol not shaped BASE-QUOTE", { symbol: "HYPE/USDC" }, "[0].symbol", "expected BASE-QUOTE"],
      ["too many decimals", { baseDecimals: 37 }, "[0].baseDecimals", "from 0 to 36"],
      ["a fee above 100%", { takerFeeBps: 10_001 }, "[0].takerFeeBps", "from 0 to 10000"],
      ["a bad token address", { baseToken: "0x12" }, "[0].baseToken", "expected an address"],
      ["the same base and quote token", { quoteToken: BASE }, "[0].quoteToken", "quote token equals base token"],
      ["an extra field", { quoteDecimals: 6 }, "[0]", "Unrecognized key"],
      ["a missing field", { lotSize: undefined }, "[0].lotSize", "as a decimal string"],
    ] as const) {
      it(`refuses ${label}`, () => {
        const error = configError(baseEnv({ HYPERINDEX_MARKETS: JSON.stringify([market(fields)]) }));
        expect(error.issues.map((i) => i.variable)).to.include(`HYPERINDEX_MARKETS${where}`);
        expect(error.message).to.contain(expected);
      });
    }

    it("refuses duplicate ids, symbols and token pairs", () => {
      const error = configError(baseEnv({ HYPERINDEX_MARKETS: JSON.stringify([market(), market()]) }));
      expect(error.issues.map((i) => i.variable)).to.deep.equal([
        "HYPERINDEX_MARKETS[1].id",
        "HYPERINDEX_MARKETS[1].symbol",
        "HYPERINDEX_MARKETS[1].baseToken",
      ]);
    });

    it("refuses an empty list and a non-array", () => {
      expect(configError(baseEnv({ HYPERINDEX_MARKETS: "[]" })).message).to.contain("at least one market");
      expect(configError(baseEnv({ HYPERINDEX_MARKETS: "{}" })).message).to.contain("expected a JSON array of markets");
    });

    it("accepts the optional maxPriceTicks and maxLots", () => {
      const config = loadConfig(baseEnv({ HYPERINDEX_MARKETS: JSON.stringify([market({ maxPriceTicks: 5_000, maxLots: 70 })]) }));
      expect(config.markets[0]).to.deep.include({ maxPriceTicks: 5_000, maxLots: 70 });
    });

    it("refuses, naming the field, what operator/markets refuses: bounds Lua or the contract cannot hold", () => {
      const error = configError(baseEnv({ HYPERINDEX_MARKETS: JSON.stringify([market({ minLots: 10, maxLots: 5 })]) }));
      expect(error.issues[0].variable).to.equal("HYPERINDEX_MARKETS[0].minLots");
      expect(error.message).to.contain("market HYPE-USDC: minLots 10 is above maxLots 5");
      const huge = configError(baseEnv({ HYPERINDEX_MARKETS: JSON.stringify([market({ tickSize: (10n ** 30n).toString(), maxPriceTicks: 2 ** 40 })]) }));
      expect(huge.issues[0].variable).to.equal("HYPERINDEX_MARKETS[0].maxPriceTicks");
      expect(huge.message).to.contain("uint128");
    });
  });

  describe("chains", () => {
    const chain = (fields: Record<string, unknown> = {}) => ({
      chainId: 999,
      rpcUrl: "https://rpc.hyperliquid.xyz/evm",
      settlementAddress: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      commitmentAddress: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
      ...fields,
    });
    const withoutShorthand = (extra: Record<string, string | undefined>) =>
      baseEnv({ HYPERINDEX_RPC_URL: undefined, HYPERINDEX_CHAIN_ID: undefined, HYPERINDEX_SETTLEMENT_ADDRESS: undefined, HYPERINDEX_COMMITMENT_ADDRESS: undefined, ...extra });
    const twoChains = [
      chain({ name: "hyperevm" }),
      chain({ chainId: 998, name: "testnet", settlementAddress: SETTLEMENT_998, commitmentAddress: COMMITMENT_998, operatorKeyVariable: "HYPERINDEX_OPERATOR_PRIVATE_KEY_998", confirmations: 1 }),
    ];

    it("reads any number of chains, each with its key (its own variable, or the shared one) and defaults", () => {
      const config = loadConfig(
        withoutShorthand({
          HYPERINDEX_CHAINS: JSON.stringify(twoChains),
          HYPERINDEX_OPERATOR_PRIVATE_KEY_998: OTHER_KEY,
          HYPERINDEX_MARKETS: JSON.stringify([market({ chainId: 999 }), market({ id: 2, symbol: "HYPE-USDC.t", chainId: 998 })]),
        }),
      );
      expect(config.chains.map((c) => [c.chainId, c.name, c.confirmations, c.settlementGasBudget, c.operatorKeyVariable])).to.deep.equal([
        [998, "testnet", 1, 2_700_000, "HYPERINDEX_OPERATOR_PRIVATE_KEY_998"],
        [999, "hyperevm", 2, 2_700_000, "HYPERINDEX_OPERATOR_PRIVATE_KEY"],
      ]);
      expect(config.chains[0].operatorPrivateKey.reveal()).to.equal(OTHER_KEY);
      expect(config.chains[1].operatorPrivateKey.reveal()).to.equal(PRIVATE_KEY);
      expect(config.chains[0].orderDomain).to.deep.equal({ chainId: 998n, verifyingContract: SETTLEMENT_998 });
      expect(config.markets.map((m) => [m.symbol, m.chainId])).to.deep.equal([
        ["HYPE-USDC", 999],
        ["HYPE-USDC.t", 998],
      ]);
      expect(JSON.stringify(redactedConfig(config))).to.not.contain(OTHER_KEY.slice(2));
    });

    it("reads them from a JSON file", () => {
      const config = loadConfig(withoutShorthand({ HYPERINDEX_CHAINS_FILE: "/etc/chains.json" }), { readFile: () => JSON.stringify([chain()]) });
      expect(config.chains.map((c) => c.chainId)).to.deep.equal([999]);
      expect(config.markets[0].chainId).to.equal(999);
    });

    it("requires each market to name its chain when several are served, and a served one", () => {
      const base = { HYPERINDEX_CHAINS: JSON.stringify(twoChains), HYPERINDEX_OPERATOR_PRIVATE_KEY_998: OTHER_KEY };
      const missing = configError(withoutShorthand({ ...base, HYPERINDEX_MARKETS: JSON.stringify([market()]) }));
      expect(missing.issues).to.deep.equal([
        { variable: "HYPERINDEX_MARKETS[0].chainId", message: "market HYPE-USDC: required when several chains are configured (one of 998, 999)" },
      ]);
      const unknown = configError(withoutShorthand({ ...base, HYPERINDEX_MARKETS: JSON.stringify([market({ chainId: 1 })]) }));
      expect(unknown.issues[0].message).to.contain("chain 1 is not configured (configured: 998, 999)");
    });

    it("refuses the one-chain variables together with HYPERINDEX_CHAINS", () => {
      const error = configError(baseEnv({ HYPERINDEX_CHAINS: JSON.stringify([chain()]) }));
      expect(error.message).to.contain("set either HYPERINDEX_CHAINS or the one-chain variables");
    });

    it("names the chain entry and field at fault", () => {
      const error = configError(withoutShorthand({ HYPERINDEX_CHAINS: JSON.stringify([chain(), chain({ settlementAddress: "0x12", confirmations: -1, extra: 1 })]) }));
      expect(error.issues.map((i) => i.variable).sort()).to.deep.equal(["HYPERINDEX_CHAINS[1]", "HYPERINDEX_CHAINS[1].confirmations", "HYPERINDEX_CHAINS[1].settlementAddress"]);
      const dup = configError(withoutShorthand({ HYPERINDEX_CHAINS: JSON.stringify([chain(), chain()]) }));
      expect(dup.issues.map((i) => i.variable)).to.include("HYPERINDEX_CHAINS[1].chainId");
    });

    it("requires the key variable a chain names, and never echoes a bad one", () => {
      const missing = configError(withoutShorthand({ HYPERINDEX_CHAINS: JSON.stringify(twoChains) }));
      expect(missing.issues[0].variable).to.equal("HYPERINDEX_OPERATOR_PRIVATE_KEY_998 (operator key of HYPERINDEX_CHAINS[1], chain 998)");
      const bad = configError(withoutShorthand({ HYPERINDEX_CHAINS: JSON.stringify(twoChains), HYPERINDEX_OPERATOR_PRIVATE_KEY_998: `0x${"ab".repeat(20)}` }));
      expect(bad.message).to.contain("value not shown: secret");
      expect(bad.message).to.not.contain("abab");
    });

    it("requires every one-chain variable when HYPERINDEX_CHAINS is not set", () => {
      const error = configError(baseEnv({ HYPERINDEX_COMMITMENT_ADDRESS: undefined }));
      expect(error.issues).to.deep.equal([
        { variable: "HYPERINDEX_COMMITMENT_ADDRESS", message: "required, but not set (or describe the chains in HYPERINDEX_CHAINS / HYPERINDEX_CHAINS_FILE)" },
      ]);
    });
  });

  it("documents every variable in operator/config/README.md, and nothing else", () => {
    const readme = fs.readFileSync(path.join(__dirname, "../../../operator/config/README.md"), "utf8");
    const documented = [...readme.matchAll(/^\| `(HYPERINDEX_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect([...documented].sort()).to.deep.equal([...CONFIG_VARIABLES].sort());
  });
});
