/**
 * Formatting helpers of `scripts/spec_vectors.ts`: bytes as the hex of
 * `docs/PROTOCOL.md`, and the checks of the script's assumptions.
 *
 * @module
 */

/** Hex bytes separated by spaces. */
export function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Hex bytes, `perLine` to a line, each line after `indent`. */
export function hexLines(
  bytes: Uint8Array,
  perLine = 16,
  indent = "",
): string[] {
  const lines = [];
  for (let at = 0; at < bytes.length; at += perLine) {
    lines.push(indent + hex(bytes.subarray(at, at + perLine)));
  }
  return lines;
}

/** `left`, then `comment` from `column` (0-based) on, or after a space. */
export function note(left: string, column: number, comment: string): string {
  return (left.length < column ? left.padEnd(column) : left + " ") + comment;
}

export function fence(lines: readonly string[]): string {
  return ["```", ...lines, "```"].join("\n");
}

export function bytesOf(hexText: string): Uint8Array {
  return Uint8Array.from(hexText.match(/../g)!.map((b) => parseInt(b, 16)));
}

export function scalarBytes(value: bigint): Uint8Array {
  return bytesOf(value.toString(16).padStart(64, "0"));
}

export function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + bytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(bytes.length), true);
  out.set(bytes, 8);
  return out;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

export function check(condition: boolean, what: string): void {
  if (!condition) {
    throw new Error(`The code no longer matches this script: ${what}`);
  }
}
