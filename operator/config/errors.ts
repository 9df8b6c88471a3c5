import { BaseError, type BaseErrorOptions } from "../errors";

/** One thing wrong with the configuration, named by its environment variable. */
export interface ConfigIssue {
  /** e.g. "HYPERINDEX_CHAIN_ID", or "HYPERINDEX_MARKETS[1].tickSize" inside the markets JSON. */
  variable: string;
  /** What was expected and what was found; never a secret's value. */
  message: string;
}

/**
 * The configuration cannot start the operator. The message lists every problem, one per
 * line, as `VARIABLE: expected ..., got "..."`, so one failed start shows all of them.
 * Code: CONFIG_INVALID.
 */
export class ConfigError extends BaseError {
  override name = "ConfigError" as const;
  declare readonly code: "CONFIG_INVALID";
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options: BaseErrorOptions = {}) {
    const lines = issues.map((i) => `${i.variable}: ${i.message}`);
    super(
      "CONFIG_INVALID",
      issues.length === 1 ? `invalid configuration: ${lines[0]}` : `invalid configuration:\n  ${lines.join("\n  ")}`,
      { ...options, details: { ...options.details, issues } },
    );
    this.issues = issues;
  }
}
