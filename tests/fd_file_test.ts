import assert from "node:assert/strict";
import fs from "node:fs";
import { join } from "node:path";
import { FdFile } from "../lib/store/fd_file.ts";
import { WriteBehind } from "../lib/store/write_behind.ts";
import { tempDir } from "./helpers.ts";
import { concat } from "./proxy.ts";

const MiB = 1024 * 1024;

/** `size` bytes that differ from one position to the next. */
function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/**
 * Fails with the first position where `actual` and `expected` differ: a
 * diff of MiB-sized arrays would take minutes to print.
 */
function assertSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  assert.equal(actual.length, expected.length, "length");
  const at = actual.findIndex((byte, i) => byte !== expected[i]);
  assert.equal(at, -1, `first differing byte at ${at}`);
}

// Small writes go through the descriptor and large ones through a second
// handle from where the small ones ended: a wrong position shows as
// misplaced bytes.
Deno.test("writes through the descriptor and the second handle land in order", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "out.bin");
  const chunks = [
    pattern(1000, 1),
    pattern(MiB, 2),
    pattern(3, 3),
    pattern(MiB + 17, 4),
  ];
  const file = new FdFile(
    fs.openSync(path, "w", 0o600),
    { path, append: false },
  );
  try {
    await file.write(chunks[0]);
    for (const chunk of chunks.slice(1, 3)) {
      for (let at = 0; at < chunk.length;) {
        at += await file.write(chunk.subarray(at));
      }
    }
    let at = 0;
    while (at < chunks[3].length) {
      at += file.writeSync(chunks[3].subarray(at));
    }
    await file.syncData();
  } finally {
    file.close();
  }
  assertSameBytes(await Deno.readFile(path), concat(chunks));
});

Deno.test("a descriptor that appends keeps appending through the second handle", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "kept.bin");
  const kept = pattern(5000, 9);
  await Deno.writeFile(path, kept);
  const more = [pattern(2 * MiB, 5), pattern(10, 6)];
  const file = new FdFile(
    fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_APPEND),
    { path, append: true },
  );
  try {
    const writer = new WriteBehind(file, 2 * MiB + 10);
    for (const chunk of more) await writer.write(chunk, false);
    await writer.finish();
  } finally {
    file.close();
  }
  assertSameBytes(await Deno.readFile(path), concat([kept, ...more]));
});

Deno.test("a path that names another file is not written: the descriptor is", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "real.bin");
  const other = join(dir.path, "other.bin");
  await Deno.writeFile(other, new Uint8Array(0));
  const data = pattern(MiB, 7);
  const file = new FdFile(
    fs.openSync(path, "w", 0o600),
    { path: other, append: false },
  );
  try {
    for (let at = 0; at < data.length;) {
      at += await file.write(data.subarray(at));
    }
  } finally {
    file.close();
  }
  assertSameBytes(await Deno.readFile(path), data);
  assert.equal((await Deno.stat(other)).size, 0);
});
