/**
 * SHA-256 of files and of byte streams, with node:crypto's native hash.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";

export type { Hash };

/** Bytes read per call while hashing a file. */
const READ_SIZE = 1024 * 1024;

/** A fresh incremental SHA-256. */
export function newHash(): Hash {
  return createHash("sha256");
}

/** The hex digest of what `hash` has seen so far; `hash` stays usable. */
export function peekDigest(hash: Hash): string {
  return hash.copy().digest("hex");
}

/**
 * Feeds at most `length` more bytes of `file` to `hash`, reading up to
 * `expected` bytes at a time; returns the count.
 */
async function feed(
  hash: Hash,
  file: Deno.FsFile,
  length: number,
  expected = length,
): Promise<number> {
  // A buffer no larger than the data: a mebibyte for each of many small
  // files cost more memory than their reads.
  const buffer = new Uint8Array(
    Math.min(READ_SIZE, Math.max(Math.min(length, expected), 1)),
  );
  let done = 0;
  while (done < length) {
    const count = await file.read(
      buffer.subarray(0, Math.min(buffer.length, length - done)),
    );
    if (count === null) break;
    hash.update(buffer.subarray(0, count));
    done += count;
  }
  return done;
}

/**
 * Feeds the next `length` bytes of the open `file` to a new SHA-256 and
 * returns it, still open for more; null when the file ends sooner.
 */
export async function hashPrefix(
  file: Deno.FsFile,
  length: number,
): Promise<Hash | null> {
  const hash = newHash();
  return await feed(hash, file, length) === length ? hash : null;
}

/** The hex SHA-256 of the whole file at `path`. */
export async function hashFile(path: string): Promise<string> {
  using file = await Deno.open(path, { read: true });
  const hash = newHash();
  await feed(hash, file, Infinity, (await file.stat()).size);
  return hash.digest("hex");
}
