/**
 * The one error base of the operator (after viem's src/errors/base.ts): a short message a
 * person can act on, structured details for logs and API responses, and the cause.
 * Domain errors subclass it with a literal `name` and a stable machine `code`.
 */
export interface BaseErrorOptions {
  /** Extra facts for logs and API responses; must never contain secrets. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class BaseError extends Error {
  override name = "BaseError";
  /** Stable, machine-readable code (e.g. "ORDER_EXPIRED"); API clients switch on it. */
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(code: string, shortMessage: string, options: BaseErrorOptions = {}) {
    super(shortMessage, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }

  /** JSON-safe view (bigints become decimal strings) for logs and HTTP bodies. */
  toJSON(): { code: string; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: jsonSafe(this.details) as Record<string, unknown> };
  }
}

/** Replaces bigints by decimal strings, recursively, so a value can go through JSON.stringify. */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  }
  return value;
}
