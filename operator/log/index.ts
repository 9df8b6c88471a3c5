/**
 * Structured JSON logs (pino). Every component logs through a child with a stable `at`
 * field (e.g. "matching", "api"), so logs can be filtered per component.
 * Secrets never reach a log: see `redactUrl` for URLs with credentials.
 */
import pino, { type Logger, type LoggerOptions } from "pino";

export type { Logger } from "pino";

export interface LogOptions {
  level?: LoggerOptions["level"];
  /** Where to write; defaults to stdout. Tests pass a stream or use level "silent". */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LogOptions = {}): Logger {
  const base: LoggerOptions = {
    level: options.level ?? "info",
    base: { service: "hyperindex-operator" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ["privateKey", "*.privateKey", "password", "*.password", "authorization"], censor: "[redacted]" },
    formatters: { level: (label) => ({ level: label }) },
  };
  return options.destination ? pino(base, options.destination) : pino(base);
}

/** A child logger for one component; `at` is the component name. */
export function componentLogger(parent: Logger, at: string): Logger {
  return parent.child({ at });
}

/** Strips user:password from a URL before it is logged. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.username || url.password) {
      url.username = url.username ? "redacted" : "";
      url.password = "";
    }
    return url.toString();
  } catch {
    return "[unparseable url]";
  }
}
