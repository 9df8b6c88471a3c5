import { expect } from "chai";
import fc from "fast-check";
import type { Balance } from "../../../operator/ledger/types";
import type { Address } from "../../../operator/orders";
import { reconcile, type AccountInput, type ChainInput } from "../../../operator/reconciler";

/**
 * The reconciler's comparison, property-tested: random ledgers on random chains, the chain
 * side derived from the ledger by the vault identity, then one thing changed at a time.
 */
const addr = (n: number): Address => `0x${n.toString(16).padStart(40, "0")}` as Address;
const TOKENS = [
  { address: addr(0xa1), symbol: "WETH" },
  { address: addr(0xa2), symbol: "USDC" },
];
const amount = fc.bigInt({ min: 0n, max: 10n ** 30n });

const balanceArb: fc.Arbitrary<Balance> = fc
  .record({ available: amount, locked: amount, pendingOut: amount, pendingIn: amount, hold: fc.option(amount, { nil: undefined }) })
  .map(({ hold, ...b }) => (hold === undefined ? b : { ...b, withdrawalRequested: hold, withdrawalHold: hold }));

const vault = (b: Balance): bigint => b.available + b.locked + b.pendingOut + (b.withdrawalHold ?? 0n) - (b.withdrawalDebt ?? 0n);

/** A chain whose vault matches its ledger exactly, with `surplus` tokens sent to the vault directly. */
const chainArb = (chainId: number): fc.Arbitrary<ChainInput> =>
  fc.record({ balances: fc.array(fc.tuple(balanceArb, balanceArb), { minLength: 1, maxLength: 8 }), surplus: fc.tuple(amount, amount) }).map(({ balances, surplus }) => {
    const accounts: AccountInput[] = balances.flatMap(([b0, b1], i) => [
      { trader: addr(0x1000 + i), token: TOKENS[0].address, ledger: b0, onChain: vault(b0) },
      { trader: addr(0x1000 + i), token: TOKENS[1].address, ledger: b1, onChain: vault(b1) },
    ]);
    const totals: Record<Address, bigint> = {};
    const holdings: Record<Address, bigint> = {};
    TOKENS.forEach((t, j) => {
      totals[t.address] = accounts.filter((a) => a.token === t.address).reduce((s, a) => s + a.onChain, 0n);
      holdings[t.address] = totals[t.address] + surplus[j];
    });
    return {
      chainId,
      name: `c${chainId}`,
      tokens: TOKENS,
      snapshot: { block: 100n, accounts, totals, holdings, settlement: { openBatches: 0, unsettledFills: 0, retryFills: 0, dropFills: 0 } },
    };
  });

describe("reconciler compare (property)", () => {
  it("reports zero drift, no alert and status ok when every ledger balance matches its vault", () => {
    fc.assert(
      fc.property(chainArb(1), chainArb(2), (a, b) => {
        const r = reconcile({ chains: [a, b], driftThreshold: 0n });
        expect(r.status).to.equal("ok");
        expect(r.alerts).to.deep.equal([]);
        for (const c of r.chains) {
          expect(c.drifts).to.deep.equal([]);
          for (const t of c.tokens) expect([t.drift, t.absDrift, t.untracked, t.deficit]).to.deep.equal([0n, 0n, 0n, 0n]);
        }
      }),
    );
  });

  it("attributes drift exactly to the (chain, token, trader) whose vault balance changed", () => {
    fc.assert(
      fc.property(chainArb(1), chainArb(2), fc.nat(), fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).filter((d) => d !== 0n), fc.boolean(), (a, b, pick, delta, onSecond) => {
        const target = onSecond ? b : a;
        const accounts = [...target.snapshot!.accounts];
        const i = pick % accounts.length;
        const changed = accounts[i];
        fc.pre(changed.onChain + delta >= 0n);
        accounts[i] = { ...changed, onChain: changed.onChain + delta };
        // The chain's internal total moves with the balance (a path the ledger did not see).
        const totals = { ...target.snapshot!.totals, [changed.token]: target.snapshot!.totals[changed.token] + delta };
        const holdings = { ...target.snapshot!.holdings, [changed.token]: target.snapshot!.holdings[changed.token] + (delta > 0n ? delta : 0n) };
        const edited = { ...target, snapshot: { ...target.snapshot!, accounts, totals, holdings } };
        const r = reconcile({ chains: onSecond ? [a, edited] : [edited, b], driftThreshold: 0n });
        const all = r.chains.flatMap((c) => c.drifts);
        expect(all).to.have.length(1);
        expect(all[0]).to.include({ chainId: target.chainId, token: changed.token, trader: changed.trader, drift: delta });
        expect(r.alerts).to.have.length(1);
        expect(r.alerts[0]).to.include({ chainId: target.chainId, token: changed.token });
        expect(r.chains.find((c) => c.chainId !== target.chainId)!.status).to.equal("ok");
      }),
    );
  });

  it("reports tokens sent straight to a vault as a surplus, never as drift", () => {
    fc.assert(
      fc.property(chainArb(1), fc.bigInt({ min: 1n, max: 10n ** 24n }), (a, extra) => {
        const t = TOKENS[1].address;
        const c = { ...a, snapshot: { ...a.snapshot!, holdings: { ...a.snapshot!.holdings, [t]: a.snapshot!.holdings[t] + extra } } };
        const r = reconcile({ chains: [c], driftThreshold: 0n });
        expect(r.status).to.equal("ok");
        expect(r.alerts).to.deep.equal([]);
        const row = r.chains[0].tokens.find((x) => x.token === t)!;
        expect(row.surplus >= extra).to.equal(true);
        expect(row.drift).to.equal(0n);
      }),
    );
  });

  it("flags a deficit (holdings below internal balances) as insolvent and alerts", () => {
    fc.assert(
      fc.property(chainArb(1), fc.bigInt({ min: 1n, max: 10n ** 18n }), (a, missing) => {
        const t = TOKENS[0].address;
        const total = a.snapshot!.totals[t];
        fc.pre(total >= missing);
        const c = { ...a, snapshot: { ...a.snapshot!, holdings: { ...a.snapshot!.holdings, [t]: total - missing } } };
        const r = reconcile({ chains: [c], driftThreshold: 10n ** 40n });
        expect(r.chains[0].tokens.find((x) => x.token === t)!.deficit).to.equal(missing);
        expect(r.alerts.map((x) => x.token)).to.deep.equal([t]);
      }),
    );
  });

  it("reports an unreadable chain unknown, with no drift and no alert, and still judges the others", () => {
    fc.assert(
      fc.property(chainArb(1), chainArb(2), fc.nat(), (a, b, pick) => {
        const accounts = [...b.snapshot!.accounts];
        const i = pick % accounts.length;
        accounts[i] = { ...accounts[i], onChain: accounts[i].onChain + 7n };
        const drifting = { ...b, snapshot: { ...b.snapshot!, accounts } };
        const unknown: ChainInput = { chainId: 1, name: "c1", tokens: a.tokens, error: "CHAIN_UNAVAILABLE" };
        const r = reconcile({ chains: [unknown, drifting], driftThreshold: 0n });
        expect(r.chains[0]).to.include({ status: "unknown" });
        expect(r.chains[0].drifts).to.deep.equal([]);
        expect(r.alerts.every((x) => x.chainId === 2)).to.equal(true);
        expect(r.assets.every((x) => x.unknownChains.includes(1))).to.equal(true);
        const alone = reconcile({ chains: [unknown], driftThreshold: 0n });
        expect(alone.alerts).to.deep.equal([]);
        expect(alone.chains[0].drifts).to.deep.equal([]);
      }),
    );
  });

  it("stays silent below the threshold, and counts only drift an earlier read confirmed", () => {
    fc.assert(
      fc.property(chainArb(1), fc.nat(), fc.bigInt({ min: 1n, max: 1000n }), (a, pick, delta) => {
        const accounts = [...a.snapshot!.accounts];
        const i = pick % accounts.length;
        accounts[i] = { ...accounts[i], onChain: accounts[i].onChain + delta };
        const totals = { ...a.snapshot!.totals, [accounts[i].token]: a.snapshot!.totals[accounts[i].token] + delta };
        const holdings = { ...a.snapshot!.holdings, [accounts[i].token]: a.snapshot!.holdings[accounts[i].token] + delta };
        const c = { ...a, snapshot: { ...a.snapshot!, accounts, totals, holdings } };
        expect(reconcile({ chains: [c], driftThreshold: delta }).alerts).to.deep.equal([]);
        expect(reconcile({ chains: [c], driftThreshold: delta - 1n }).alerts).to.have.length(1);
        const unconfirmed = reconcile({ chains: [{ ...c, confirmed: new Set() }], driftThreshold: 0n });
        expect(unconfirmed.status).to.equal("ok");
        expect(unconfirmed.chains[0].tokens.reduce((s, t) => s + t.unconfirmed, 0)).to.equal(1);
      }),
    );
  });

  it("adds up each asset across chains", () => {
    fc.assert(
      fc.property(chainArb(1), chainArb(2), (a, b) => {
        const r = reconcile({ chains: [a, b], driftThreshold: 0n });
        for (const asset of r.assets) {
          const rows = r.chains.flatMap((c) => c.tokens.filter((t) => t.symbol === asset.symbol));
          expect(asset.chains).to.deep.equal([1, 2]);
          expect(asset.ledger).to.equal(rows.reduce((s, t) => s + t.ledger, 0n));
          expect(asset.holdings).to.equal(rows.reduce((s, t) => s + t.holdings, 0n));
        }
      }),
    );
  });
});
