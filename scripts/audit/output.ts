/**
 * What the auditor prints. For people (the default): a verdict line, then aligned fields and
 * tables, on stdout; notes and progress on stderr. With --json: exactly one JSON object on
 * stdout per run (bigints as decimal strings), errors included, so a script reads stdout and
 * the exit code and nothing else.
 */
import { jsonSafe } from "../../operator/errors";
import { AuditError, EXIT, type ExitCode } from "./errors";

export interface Output {
  readonly json: boolean;
  /** The command's result: `human()` lines on stdout, or `record` as one JSON object. */
  result(record: Record<string, unknown>, human: () => string[]): void;
  /** A remark for people, on stderr (also with --json: stdout stays machine-readable). */
  note(line: string): void;
  /** Reports a failure and returns its exit code. */
  failure(command: string, error: unknown): ExitCode;
}

export function createOutput(json: boolean, streams: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = { out: process.stdout, err: process.stderr }): Output {
  return {
    json,
    result(record, human) {
      if (json) streams.out.write(`${JSON.stringify(jsonSafe(record))}\n`);
      else streams.out.write(`${human().join("\n")}\n`);
    },
    note(line) {
      streams.err.write(`${line}\n`);
    },
    failure(command, error) {
      const known = error instanceof AuditError;
      const exitCode: ExitCode = known ? error.exitCode : EXIT.unavailable;
      const message = error instanceof Error ? error.message : String(error);
      if (json) {
        const body = known ? error.toJSON() : { code: "INTERNAL", message, details: {} };
        streams.out.write(`${JSON.stringify({ command, verdict: "error", exitCode, error: body })}\n`);
      }
      streams.err.write(`audit ${command}: ${known ? "" : "unexpected error: "}${message}\n`);
      if (!known && error instanceof Error && error.stack) streams.err.write(`${error.stack}\n`);
      return exitCode;
    },
  };
}

/** `label  value` lines, labels padded to one column; undefined values are left out. */
export function fields(pairs: readonly (readonly [string, string | undefined])[], indent = "  "): string[] {
  const shown = pairs.filter((p): p is readonly [string, string] => p[1] !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `${indent}${label.padEnd(width)}  ${value}`);
}

/** A plain text table: a header row, a rule, the rows; columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], indent = "  "): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => `${indent}${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")}`.trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}

/** A unix-seconds or -milliseconds time with its ISO form. */
export function when(value: bigint, unit: "s" | "ms"): string {
  const ms = unit === "s" ? value * 1000n : value;
  if (ms > 8_640_000_000_000_000n) return value.toString();
  return `${value} (${new Date(Number(ms)).toISOString()})`;
}
