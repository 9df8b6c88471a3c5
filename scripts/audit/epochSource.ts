/**
 * Where the auditor gets an epoch data file: the only thing that differs between the API and
 * a local copy. Every source yields the file's exact bytes; what is done with them (hash,
 * parse, rebuild, prove) is the same whatever the source.
 *
 *   file     one file (rebuild-epoch, verify-order, check-receipt: one epoch)
 *   url      one URL
 *   dir      a directory of files named like the operator writes them (epoch-000000000042.json)
 *   baseUrl  the same layout behind a web server or bucket: {baseUrl}/epoch-000000000042.json
 *   api      the operator API: {api}/v1/epochs/:n/data?chainId=N
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { epochDataFileName } from "../../operator/commitment";
import { redactSecretUrl } from "../../operator/config";
import type { ApiClient } from "./api";
import { AuditError } from "./errors";
import { httpGet, HttpUnreachable } from "./http";

export type EpochSource =
  | { kind: "file"; path: string }
  | { kind: "url"; url: string }
  | { kind: "dir"; dir: string }
  | { kind: "baseUrl"; url: string }
  | { kind: "api"; api: ApiClient };

export interface EpochBytes {
  bytes: Buffer;
  /** Where they came from, safe to print. */
  from: string;
}

/** The options that name a source; at most one may be given, else the API, else an error. */
export interface EpochSourceOptions {
  file?: string;
  url?: string;
  dir?: string;
  baseUrl?: string;
}

export function epochSourceOf(options: EpochSourceOptions, api: ApiClient | undefined): EpochSource {
  const given = (["file", "url", "dir", "baseUrl"] as const).filter((k) => options[k] !== undefined);
  if (given.length > 1) throw new AuditError("USAGE", `give one epoch data source, not ${given.map(flag).join(" and ")}`);
  if (options.file !== undefined) return { kind: "file", path: options.file };
  if (options.url !== undefined) return { kind: "url", url: options.url };
  if (options.dir !== undefined) return { kind: "dir", dir: options.dir };
  if (options.baseUrl !== undefined) return { kind: "baseUrl", url: options.baseUrl };
  if (api !== undefined) return { kind: "api", api };
  throw new AuditError("USAGE", "no epoch data source: give --api, or --file, --url, --dir or --base-url");
}

function flag(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** A source a person can read: "file ./epoch-3.json", "API http://...". */
export function describeSource(source: EpochSource): string {
  switch (source.kind) {
    case "file":
      return `file ${source.path}`;
    case "url":
      return `URL ${redactSecretUrl(source.url)}`;
    case "dir":
      return `directory ${source.dir}`;
    case "baseUrl":
      return `${redactSecretUrl(source.url)}/`;
    case "api":
      return `API ${source.api.safeUrl}`;
  }
}

/**
 * The bytes of `epoch`'s data file. Throws AuditError EPOCH_DATA_UNAVAILABLE, with
 * `details.missing` true when the source answered that there is no such file (as opposed to
 * not answering at all).
 */
export async function fetchEpochBytes(source: EpochSource, epoch: bigint, timeoutMs: number): Promise<EpochBytes> {
  switch (source.kind) {
    case "file":
      return readLocal(source.path, epoch);
    case "dir":
      return readLocal(path.join(source.dir, epochDataFileName(epoch)), epoch);
    case "url":
      return readRemote(source.url, epoch, timeoutMs);
    case "baseUrl":
      return readRemote(`${source.url.replace(/\/+$/, "")}/${epochDataFileName(epoch)}`, epoch, timeoutMs);
    case "api":
      try {
        return { bytes: await source.api.getBytes(`/v1/epochs/${epoch}/data`), from: `API ${source.api.safeUrl}` };
      } catch (error) {
        if (error instanceof AuditError && error.code === "NOT_FOUND") throw missing(epoch, `API ${source.api.safeUrl}`, "the API has no data file for it");
        throw error;
      }
  }
}

async function readLocal(file: string, epoch: bigint): Promise<EpochBytes> {
  try {
    return { bytes: await readFile(file), from: file };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw missing(epoch, file, "no such file");
    throw new AuditError("EPOCH_DATA_UNAVAILABLE", `cannot read the data file of epoch ${epoch} at ${file}: ${code ?? (error as Error).message}`, {
      details: { epoch, from: file },
    });
  }
}

async function readRemote(url: string, epoch: bigint, timeoutMs: number): Promise<EpochBytes> {
  const from = redactSecretUrl(url);
  try {
    const { status, body } = await httpGet(url, { timeoutMs });
    if (status === 404 || status === 410) throw missing(epoch, from, `HTTP ${status}`);
    if (status < 200 || status >= 300) {
      throw new AuditError("EPOCH_DATA_UNAVAILABLE", `cannot fetch the data file of epoch ${epoch} from ${from}: HTTP ${status}`, { details: { epoch, from, status } });
    }
    return { bytes: body, from };
  } catch (error) {
    if (error instanceof HttpUnreachable) {
      throw new AuditError("EPOCH_DATA_UNAVAILABLE", `cannot fetch the data file of epoch ${epoch}: ${from} unreachable after ${error.attempts} tries (${error.message})`, {
        details: { epoch, from },
      });
    }
    throw error;
  }
}

function missing(epoch: bigint, from: string, why: string): AuditError {
  return new AuditError("EPOCH_DATA_UNAVAILABLE", `the data file of epoch ${epoch} is missing (${from}: ${why})`, { details: { epoch, from, missing: true } });
}

export function isMissing(error: unknown): boolean {
  return error instanceof AuditError && error.code === "EPOCH_DATA_UNAVAILABLE" && error.details.missing === true;
}
