/**
 * The operator API, as the auditor uses it: an untrusted source of proofs and epoch files
 * (everything it returns is checked on-chain or against the committed hashes), reached with a
 * bounded timeout per request and a few retries with backoff (./http.ts).
 *
 *   GET {api}/v1/epochs/latest?chainId=N           { commitment, epoch, ... }: the contract address
 *   GET {api}/v1/epochs/:n/data?chainId=N          the epoch data file, its exact bytes
 *   GET {api}/v1/proofs/orders/:hash?chainId=N     an order's leaf and proof (./proofs.ts)
 *   GET {api}/v1/proofs/fills/:id?chainId=N        a fill's leaf and proof
 *
 * Errors follow the API's shape `{ "error": { code, message, details } }`: 404 is NOT_FOUND, a
 * code naming an epoch not committed yet is EPOCH_NOT_COMMITTED, another 4xx is INVALID_INPUT
 * (the API refused what was asked), and no answer, a timeout, 429 or 5xx after the retries is
 * API_UNREACHABLE ("API unreachable at URL").
 */
import type { RetryPolicy } from "../../operator/chain";
import { redactSecretUrl } from "../../operator/config";
import { AuditError } from "./errors";
import { httpGet, HttpUnreachable } from "./http";

export interface ApiOptions {
  /** Base URL of the operator API (may carry credentials: printed only redacted). */
  url: string;
  chainId: number;
  /** Per-request timeout, ms. */
  timeoutMs: number;
  retry?: RetryPolicy;
}

export interface ApiClient {
  safeUrl: string;
  chainId: number;
  /** GET `path` (with ?chainId=N), JSON body. */
  getJson(path: string): Promise<unknown>;
  /** GET `path` (with ?chainId=N), the body's exact bytes. */
  getBytes(path: string): Promise<Buffer>;
}

export function createApiClient(options: ApiOptions): ApiClient {
  const base = options.url.replace(/\/+$/, "");
  const safeUrl = redactSecretUrl(base);

  async function get(path: string): Promise<Buffer> {
    const url = `${base}${path}${path.includes("?") ? "&" : "?"}chainId=${options.chainId}`;
    try {
      const { status, body } = await httpGet(url, { timeoutMs: options.timeoutMs, retry: options.retry });
      if (status >= 200 && status < 300) return body;
      throw refusal(path, status, body);
    } catch (error) {
      if (error instanceof HttpUnreachable) {
        throw new AuditError("API_UNREACHABLE", `API unreachable at ${safeUrl}: GET ${path} failed ${error.attempts} times (${error.message})`, {
          details: { api: safeUrl, path },
        });
      }
      throw error;
    }
  }

  return {
    safeUrl,
    chainId: options.chainId,
    getBytes: get,
    async getJson(path) {
      const body = await get(path);
      try {
        return JSON.parse(body.toString("utf8"));
      } catch {
        throw new AuditError("API_ERROR", `the API at ${safeUrl} answered GET ${path} with something that is not JSON`, { details: { api: safeUrl, path } });
      }
    },
  };
}

/** The API's refusal (4xx other than the retried ones), as an AuditError the commands can act on. */
function refusal(path: string, status: number, body: Buffer): AuditError {
  let code: string | undefined;
  let message: string | undefined;
  let details: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (typeof parsed.error?.code === "string") code = parsed.error.code;
    if (typeof parsed.error?.message === "string") message = parsed.error.message;
    if (parsed.error?.details !== null && typeof parsed.error?.details === "object") details = parsed.error.details as Record<string, unknown>;
  } catch {
    // not the API's error shape: the status says enough
  }
  const said = `${code ?? `HTTP ${status}`}${message === undefined ? "" : `: ${message}`}`;
  const all = { ...details, status, apiCode: code, path };
  if (code !== undefined && /NOT_COMMITTED/.test(code)) return new AuditError("EPOCH_NOT_COMMITTED", `the API says: ${said}`, { details: all });
  if (status === 404) return new AuditError("NOT_FOUND", `the API knows no such thing (GET ${path}: ${said})`, { details: all });
  if (status >= 400 && status < 500) return new AuditError("INVALID_INPUT", `the API refused GET ${path}: ${said}`, { details: all });
  return new AuditError("API_ERROR", `the API answered GET ${path} with HTTP ${status}`, { details: all });
}
