/**
 * SHA-256 of files and of byte streams, with node:crypto's native hash.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";

export type { Hash };

/** A fresh incremental SHA-256. */
export function newHash(): Hash {
  return createHash("sha256");
}

/** The hex SHA-256 of the first `length` bytes of `file` (all by default). */
export async function hashFile(
  path: string,
  length = Infinity,
): Promise<string> {
  const hash = newHash();
  const buffer = new Uint8Array(1024 * 1024);
  using file = await Deno.open(path, { read: true });
  let remaining = length;
  while (remaining > 0) {
    const count = await file.read(
      buffer.subarray(0, Math.min(buffer.length, remaining)),
    );
    if (count === null) break;
    hash.update(buffer.subarray(0, count));
    remaining -= count;
  }
  return hash.digest("hex");
}
