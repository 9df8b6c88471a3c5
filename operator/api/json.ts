/** JSON out of the API: bigints always as decimal strings (JSON numbers lose precision above 2^53). */

function replacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString(10) : value;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, replacer);
}
