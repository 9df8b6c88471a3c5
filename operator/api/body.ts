/**
 * Request bodies, read raw whatever their content type (the routes parse them with the orders
 * codec's rules), at most `maxBytes`.
 *
 * An oversize body is answered 413 PAYLOAD_TOO_LARGE only once it has been read to its end
 * (and discarded), up to `drainBytes`: a server that answers and closes while the client is
 * still sending makes the client's kernel see a reset, and the client an ECONNRESET / EPIPE
 * instead of the 413. A body announced (Content-Length) or found larger than `drainBytes` is
 * answered at once and its connection closed: reading it all would cost more than the client's
 * not reading the answer. The request timeout (HYPERINDEX_HTTP_REQUEST_TIMEOUT_MS) bounds a slow
 * drain like any slow body.
 */
import type { Readable } from "node:stream";
import type { FastifyRequest } from "fastify";
import { ApiError } from "./errors";

type Done = (error: Error | null, body?: Buffer) => void;

export function tooLarge(maxBytes: number): ApiError {
  return new ApiError("PAYLOAD_TOO_LARGE", "the body is larger than the configured maximum", { details: { maxBytes } });
}

/** A fastify content-type parser (no parseAs: it reads the payload stream itself). */
export function rawBodyParser(limits: { maxBytes: number; drainBytes: number }) {
  const drainBytes = Math.max(limits.drainBytes, limits.maxBytes);
  return (request: FastifyRequest, payload: Readable, done: Done): void => {
    const declared = Number(request.headers["content-length"]);
    if (declared > drainBytes) return done(tooLarge(limits.maxBytes));

    const chunks: Buffer[] = [];
    let received = 0;
    let finished = false;
    const finish = (error: Error | null, body?: Buffer): void => {
      if (finished) return;
      finished = true;
      payload.removeListener("data", onData);
      payload.removeListener("end", onEnd);
      payload.removeListener("error", onError);
      done(error, body);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      received += buf.length;
      if (received > drainBytes) return finish(tooLarge(limits.maxBytes));
      // Past the limit: keep reading to the end, keep nothing.
      if (received <= limits.maxBytes) chunks.push(buf);
    };
    const onEnd = (): void => {
      if (received > limits.maxBytes) return finish(tooLarge(limits.maxBytes));
      if (!Number.isNaN(declared) && received !== declared) {
        return finish(new ApiError("BAD_REQUEST", "Content-Length does not match the body"));
      }
      finish(null, Buffer.concat(chunks, received));
    };
    const onError = (error: Error & { statusCode?: number }): void => {
      if (!(typeof error.statusCode === "number" && error.statusCode >= 400)) error.statusCode = 400;
      finish(error);
    };
    payload.on("data", onData);
    payload.on("end", onEnd);
    payload.on("error", onError);
    payload.resume();
  };
}
