/**
 * The compressed data frame's payload: what `compressedContentSize` takes
 * and refuses from the zstd frame's headers alone, and what
 * `decompressFrame` refuses once it decompresses.
 *
 * @module
 */

import assert from "node:assert/strict";
import { zstdCompressSync } from "node:zlib";
import {
  checkFrameType,
  compressedContentSize,
  FrameType,
  MAX_DECOMPRESSED_PAYLOAD,
  ProtocolError,
} from "../protocol.ts";
import { LEVELS } from "../lib/transfer/compression.ts";
import {
  compressRecord,
  compressRecordAsync,
  decompressFrame,
} from "../lib/transfer/zstd_records.ts";

const encoder = new TextEncoder();

/** Text that compresses well, `size` bytes of it. */
function text(size: number): Uint8Array {
  const line = encoder.encode("2026-11-21T16:40:25Z GET /index.html 200 512\n");
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += line.length) {
    bytes.set(line.subarray(0, size - at), at);
  }
  return bytes;
}

function refused(payload: Uint8Array, phrase: string | RegExp): void {
  assert.throws(
    () => decompressFrame(payload),
    (error) =>
      error instanceof ProtocolError &&
      (typeof phrase === "string"
        ? error.message === `Compressed frame from peer ${phrase}`
        : phrase.test(error.message)),
  );
}

Deno.test("a compressed record decodes to its bytes, at every level", () => {
  const bytes = text(MAX_DECOMPRESSED_PAYLOAD);
  for (const level of LEVELS) {
    const frame = compressRecord(bytes, level)!;
    assert.ok(frame.length < bytes.length / 10);
    assert.equal(compressedContentSize(frame), bytes.length);
    assert.deepEqual(decompressFrame(frame), bytes);
  }
  assert.equal(
    decompressFrame(compressRecord(new Uint8Array(0), 1)!).length,
    0,
  );
  assert.equal(checkFrameType(4), FrameType.Compressed);
});

Deno.test("a frame that is not one zstd frame of a declared size is refused from its headers", () => {
  const frame = compressRecord(text(100_000), 1)!;
  refused(encoder.encode("plain text, not zstd"), "is not a zstd frame");
  refused(frame.subarray(0, 4), "is not a zstd frame");
  refused(frame.subarray(0, 7), "ends in the middle of its zstd frame");
  refused(
    frame.subarray(0, frame.length - 1),
    "ends in the middle of its zstd frame",
  );
  const longer = new Uint8Array(frame.length + 3);
  longer.set(frame);
  refused(longer, "has 3 bytes after its zstd frame");
  // Two frames back to back are not one frame.
  const twice = new Uint8Array(frame.length * 2);
  twice.set(frame);
  twice.set(frame, frame.length);
  refused(twice, `has ${frame.length} bytes after its zstd frame`);
  const reserved = frame.slice();
  reserved[4] |= 0x08;
  refused(reserved, "is not a zstd frame");
  const dictionary = frame.slice();
  dictionary[4] |= 0x01;
  refused(dictionary, "needs a zstd dictionary");
  // What a stream compressor writes when the size is not pledged.
  const unsized = zstdCompressSync(text(100_000));
  refused(unsized, "does not declare its decompressed size");
});

Deno.test("a frame that declares more than 1 MiB is refused before it is decompressed", () => {
  const size = MAX_DECOMPRESSED_PAYLOAD + 1;
  const big = zstdCompressSync(
    text(size),
    {
      pledgedSrcSize: size,
    } as Parameters<typeof zstdCompressSync>[1],
  );
  // The sender's own check keeps it from ever sending one.
  assert.equal(compressRecord(text(size), 1), null);
  refused(
    big,
    `declares ${
      MAX_DECOMPRESSED_PAYLOAD + 1
    } bytes, more than the limit of ${MAX_DECOMPRESSED_PAYLOAD}`,
  );
  // 64 MiB of zeros: a bomb of a few KiB.
  const bomb = zstdCompressSync(
    new Uint8Array(64 * 1024 * 1024),
    {
      pledgedSrcSize: 64 * 1024 * 1024,
    } as Parameters<typeof zstdCompressSync>[1],
  );
  assert.ok(bomb.length < 10_000);
  refused(bomb, /declares 67108864 bytes, more than the limit/);
});

Deno.test("a frame whose content is not what it declares fails to decompress", () => {
  const bytes = text(200_000);
  const frame = compressRecord(bytes, 1)!;
  // The descriptor byte a0: a 4-byte content size, single segment.
  assert.equal(frame[4], 0xa0);
  const view = new DataView(frame.buffer, frame.byteOffset);
  const smaller = frame.slice();
  new DataView(smaller.buffer).setUint32(5, 1000, true);
  refused(
    smaller,
    /^Compressed frame from peer (decompresses to more than the 1000 bytes it declares|fails to decompress: .+)$/,
  );
  const larger = frame.slice();
  new DataView(larger.buffer).setUint32(5, view.getUint32(5, true) + 1, true);
  refused(
    larger,
    /^Compressed frame from peer (decompresses to \d+ bytes, not the 200001 it declares|fails to decompress: .+)$/,
  );
  // A block header that claims a compressed block of garbage.
  const garbage = frame.slice(0, 9 + 3 + 40);
  garbage.set([0x05 | (40 << 3) & 0xff, (40 << 3) >> 8, 0], 9);
  garbage.fill(0xff, 12);
  refused(garbage, /^Compressed frame from peer fails to decompress: \S/);
});

Deno.test("a frame that asks for a window of more than 1 MiB is refused from its header", () => {
  const frame = compressRecord(text(300_000), 1)!;
  assert.equal(frame[4], 0xa0);
  // The same blocks in a multi-segment frame that asks for an 8 MiB
  // window (Window_Descriptor: exponent 13, so a window log of 23).
  const wide = new Uint8Array(frame.length + 1);
  wide.set(frame.subarray(0, 4));
  wide[4] = 0x80;
  wide[5] = 13 << 3;
  wide.set(frame.subarray(5), 6);
  refused(
    wide,
    "asks for a window of 8388608 bytes, more than the limit of 1048576",
  );
  // Exponent 10, mantissa 1: 1 MiB and an eighth.
  wide[5] = 10 << 3 | 1;
  refused(
    wide,
    "asks for a window of 1179648 bytes, more than the limit of 1048576",
  );
  // With a 1 MiB window it is fine.
  wide[5] = 10 << 3;
  assert.equal(compressedContentSize(wide), 300_000);
  assert.equal(decompressFrame(wide).length, 300_000);
});

Deno.test("records of every size compress to one frame that decodes to them, on the main thread and in the pool", async () => {
  const noise = new Uint8Array(300_000);
  for (let at = 0; at < noise.length; at += 65536) {
    crypto.getRandomValues(noise.subarray(at, at + 65536));
  }
  const logs = text(300_000);
  const mixed = logs.slice();
  mixed.set(noise.subarray(0, 100_000), 50_000);
  // Around the ends of node:zlib's 16 KiB and 64 KiB output chunks, where
  // Deno 2.9.6 once wrote an empty frame after the real one.
  const sizes = [];
  for (let n = 16_300; n < 16_500; n += 3) sizes.push(n);
  for (let n = 65_400; n < 65_600; n += 7) sizes.push(n);
  for (let n = 4096; n < 300_000; n = Math.floor(n * 1.07)) sizes.push(n);
  for (const source of [noise, logs, mixed]) {
    for (const n of sizes) {
      const bytes = source.subarray(0, n);
      for (
        const frame of [
          compressRecord(bytes, 1),
          await compressRecordAsync(bytes, 1),
        ]
      ) {
        assert.ok(frame !== null, `a record of ${n} bytes`);
        assert.equal(compressedContentSize(frame), n);
        assert.deepEqual(decompressFrame(frame), bytes);
      }
    }
  }
});
