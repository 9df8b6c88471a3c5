/**
 * keccak256 straight on the `keccak` package's native sponge: the hash behind every order
 * hash, Merkle leaf and signature recovery in the operator.
 *
 * The package's `createKeccakHash()` builds a stream.Transform around the native state on
 * every call; that wrapper costs ~3x the hashing itself for the short inputs here (66 to 384
 * bytes). This reuses one native state per thread: initialize, absorb, squeeze, the same three
 * calls the wrapper makes. It is the same C code, so the same digest; a test pins it to the
 * package's own function. If the binding cannot be loaded (no prebuilt for this platform), it
 * falls back to the package's function, which is slower but identical.
 */
import { createRequire } from "node:module";
import path from "node:path";
import createKeccakHash from "keccak";

/** The `keccak` package's own keccak256 (the slow, always-available reference). */
export function packageKeccak256(data: Buffer): Buffer {
  return createKeccakHash("keccak256").update(data).digest();
}

interface NativeKeccakState {
  initialize(rate: number, capacity: number): void;
  absorb(data: Buffer): void;
  squeeze(length: number): Buffer;
}

/** keccak256: rate 1088 bits, capacity 512 bits, original Keccak padding (no SHA-3 suffix). */
const RATE = 1088;
const CAPACITY = 512;

function loadNativeState(): (new () => NativeKeccakState) | undefined {
  try {
    const keccakDir = path.dirname(require.resolve("keccak/package.json"));
    const addon = createRequire(path.join(keccakDir, "index.js"))("node-gyp-build")(keccakDir) as unknown;
    return typeof addon === "function" ? (addon as new () => NativeKeccakState) : undefined;
  } catch {
    return undefined;
  }
}

export interface Keccak256Fn {
  (data: Buffer): Buffer;
  /** "native-state" when on the bare binding, "keccak-package" on the fallback. */
  readonly implementation: "native-state" | "keccak-package";
}

/** A keccak256 function with its own native state; not reentrant, so one per thread. */
export function createKeccak256(): Keccak256Fn {
  const State = loadNativeState();
  if (State === undefined) return Object.assign(packageKeccak256, { implementation: "keccak-package" as const });
  const state = new State();
  const hash = (data: Buffer): Buffer => {
    state.initialize(RATE, CAPACITY);
    state.absorb(data);
    return state.squeeze(32);
  };
  return Object.assign(hash, { implementation: "native-state" as const });
}

/**
 * keccak256 of `data`. One native state per module instance, so per thread (worker threads
 * load their own copy). The state is reset at every call, so no call sees another's data.
 */
export const keccak256: Keccak256Fn = createKeccak256();
