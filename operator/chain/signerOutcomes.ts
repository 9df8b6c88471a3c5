/**
 * How the signer's callers learn outcomes: promises per nonce (wait) and listeners
 * (onConfirmed / onFailed), settled once a record is final. Listeners run in this process
 * only: after a restart, a caller asks wait(nonce) for the nonces it recorded.
 */
import type { Logger } from "../log";
import type { TxRecord } from "./signerRecord";
import { SignerError } from "./signerErrors";
import type { ConfirmedTx, SubmittedTx } from "./signerTypes";
import { confirmedView, consumedError, submittedView } from "./signerViews";

export interface Outcomes {
  /** Resolves (or rejects) when `settle` is called for this nonce, or when the signal aborts. */
  wait(nonce: number, signal?: AbortSignal): Promise<ConfirmedTx>;
  /** A record became final ("confirmed" or "failed"): its waiters and the listeners learn it. */
  settle(rec: TxRecord): void;
  rejectAll(error: Error): void;
  onConfirmed(listener: (tx: ConfirmedTx) => void): () => void;
  onFailed(listener: (tx: SubmittedTx, error: Error) => void): () => void;
}

interface Waiter {
  resolve(tx: ConfirmedTx): void;
  reject(error: Error): void;
}

export function createOutcomes(log: Logger): Outcomes {
  const waiters = new Map<number, Set<Waiter>>();
  const confirmed = new Set<(tx: ConfirmedTx) => void>();
  const failed = new Set<(tx: SubmittedTx, error: Error) => void>();

  function guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      log.error({ err: error }, "a signer listener threw");
    }
  }

  return {
    wait(nonce, signal) {
      return new Promise<ConfirmedTx>((resolve, reject) => {
        const set = waiters.get(nonce) ?? new Set();
        waiters.set(nonce, set);
        const onAbort = (): void => {
          set.delete(waiter);
          reject(signal?.reason instanceof Error ? signal.reason : new SignerError("SIGNER_STOPPED", "wait aborted"));
        };
        const waiter: Waiter = {
          resolve: (tx) => (signal?.removeEventListener("abort", onAbort), resolve(tx)),
          reject: (error) => (signal?.removeEventListener("abort", onAbort), reject(error)),
        };
        set.add(waiter);
        if (signal?.aborted) onAbort();
        else signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    settle(rec) {
      const set = waiters.get(rec.nonce) ?? new Set<Waiter>();
      waiters.delete(rec.nonce);
      if (rec.status === "confirmed") {
        const tx = confirmedView(rec);
        for (const w of set) w.resolve(tx);
        for (const listener of confirmed) guard(() => listener(tx));
      } else {
        const error = consumedError(rec);
        for (const w of set) w.reject(error);
        for (const listener of failed) guard(() => listener(submittedView(rec), error));
      }
    },
    rejectAll(error) {
      for (const set of waiters.values()) for (const w of set) w.reject(error);
      waiters.clear();
    },
    onConfirmed(listener) {
      confirmed.add(listener);
      return () => void confirmed.delete(listener);
    },
    onFailed(listener) {
      failed.add(listener);
      return () => void failed.delete(listener);
    },
  };
}
