/**
 * A value that must never reach a log, an error message or a JSON body. It prints as
 * "[redacted]" however it is printed (String, JSON.stringify, util.inspect, pino), so logging
 * the whole config by mistake leaks nothing; `reveal()` is the one way to read it, and a grep
 * for `reveal(` finds every place that does.
 */
import { inspect } from "node:util";

const REDACTED = "[redacted]";

export class Secret<T> {
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
    Object.freeze(this);
  }

  reveal(): T {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
