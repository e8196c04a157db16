/**
 * Batch frames over a real socket pair: the writer packs small frames into
 * one record and leaves large or lone ones in records of their own, the
 * channel hands a batch's frames out one by one, and a malformed batch is
 * refused whole with one line before any of its frames is used.
 *
 * @module
 */

import assert from "node:assert/strict";
import { BufferedReader } from "../lib/net/byte_stream.ts";
import { SecureChannel } from "../lib/secure/channel.ts";
import { FrameWriter } from "../lib/secure/frame_writer.ts";
import {
  RECORD_HEADER_LENGTH,
  RecordOpener,
  RecordSealer,
  TAG_LENGTH,
} from "../lib/secure/record.ts";
import { socketPair } from "./helpers.ts";
import { concat } from "./proxy.ts";
import {
  BATCH_BYTES,
  FRAME_HEADER_LENGTH,
  FrameType,
  ProtocolError,
  unpackBatch,
} from "../protocol.ts";

const key = new Uint8Array(32).fill(5);

function sealed(conn: Deno.Conn): SecureChannel {
  const writer = new FrameWriter(conn);
  writer.startSealing(new RecordSealer(key));
  return new SecureChannel(
    conn,
    new BufferedReader(conn),
    writer,
    new RecordOpener(key),
  );
}

/** Every byte `conn` receives until the peer closes. */
async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  for (;;) {
    const count = await conn.read(buffer);
    if (count === null) break;
    chunks.push(buffer.slice(0, count));
  }
  return concat(chunks);
}

/** The record lengths in a stream of records. */
function recordLengths(stream: Uint8Array): number[] {
  const view = new DataView(stream.buffer, stream.byteOffset);
  const lengths: number[] = [];
  for (let at = 0; at < stream.length;) {
    const length = view.getUint32(at);
    lengths.push(length);
    at += RECORD_HEADER_LENGTH + length;
  }
  return lengths;
}

/** The clear frames of `frames` back to back, as a batch payload holds them. */
function pack(...frames: [number, Uint8Array][]): Uint8Array {
  const total = frames.reduce(
    (n, [, p]) => n + FRAME_HEADER_LENGTH + p.length,
    0,
  );
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const [type, payload] of frames) {
    view.setUint32(at, payload.length + 1);
    out[at + 4] = type;
    out.set(payload, at + FRAME_HEADER_LENGTH);
    at += FRAME_HEADER_LENGTH + payload.length;
  }
  return out;
}

Deno.test("small frames share one record, a lone one keeps its own", async () => {
  using pair = await socketPair();
  const [a, b] = pair;
  const sender = sealed(a);
  const sizes = [30, 4096, 100, 30, 4096, 100];
  for (const [i, size] of sizes.entries()) {
    await sender.send(
      i % 3 === 1 ? FrameType.Data : FrameType.Control,
      new Uint8Array(size).fill(i),
    );
  }
  await sender.flush();
  await sender.send(FrameType.Control, new Uint8Array(7));
  await sender.flush();
  sender.close();
  const lengths = recordLengths(await readAll(b));
  const packed = sizes.reduce((n, s) => n + FRAME_HEADER_LENGTH + s, 0);
  assert.deepEqual(lengths, [1 + packed + TAG_LENGTH, 1 + 7 + TAG_LENGTH]);
});

Deno.test("a batch's frames arrive one by one, in order, as views", async () => {
  using pair = await socketPair();
  const [a, b] = pair;
  const sender = sealed(a);
  const receiver = sealed(b);
  // More than one batch holds, with a large frame among them that goes
  // in a record of its own.
  const sizes = Array.from({ length: 300 }, (_, i) => (i * 37) % 5000);
  sizes[150] = 200_000;
  const sending = (async () => {
    for (const [i, size] of sizes.entries()) {
      await sender.send(FrameType.Data, new Uint8Array(size).fill(i % 251));
    }
    await sender.flush();
    sender.close();
  })();
  for (const [i, size] of sizes.entries()) {
    const frame = await receiver.receive();
    assert.ok(frame, `frame ${i}`);
    assert.equal(frame.type, FrameType.Data);
    // A large frame is a record of its own, memory the receiver keeps.
    if (size >= 65536) assert.equal(frame.detached, true);
    assert.deepEqual(frame.payload, new Uint8Array(size).fill(i % 251));
  }
  assert.equal(await receiver.receive(), null);
  await sending;
  const total = sizes.reduce((n, s) => n + FRAME_HEADER_LENGTH + s, 0);
  assert.ok(total > 2 * BATCH_BYTES, "the frames fill several batches");
});

Deno.test("the rest of a batch counts as arrived", async () => {
  using pair = await socketPair();
  const [a, b] = pair;
  const sender = sealed(a);
  const receiver = sealed(b);
  for (const n of [1, 2, 3]) {
    await sender.send(FrameType.Control, Uint8Array.of(n));
  }
  await sender.flush();
  for (const n of [1, 2, 3]) {
    const frame = await receiver.receive();
    assert.deepEqual(frame?.payload, Uint8Array.of(n));
    assert.equal(frame?.detached, false);
    assert.equal(receiver.hasBuffered(), n < 3, `after frame ${n}`);
  }
  sender.close();
  assert.equal(await receiver.receive(), null);
});

Deno.test("a batch frame's payload is checked whole", () => {
  const one = new Uint8Array([1, 2, 3]);
  const good = pack([FrameType.Control, one], [
    FrameType.Data,
    new Uint8Array(),
  ]);
  const frames = unpackBatch(good);
  assert.deepEqual(frames.map((f) => f.type), [
    FrameType.Control,
    FrameType.Data,
  ]);
  assert.deepEqual(frames[0].payload, one);
  assert.equal(frames[1].payload.length, 0);
  const refuses = (payload: Uint8Array, message: string) =>
    assert.throws(
      () => unpackBatch(payload),
      (error: Error) =>
        error instanceof ProtocolError && error.message === message,
    );
  refuses(new Uint8Array(0), "Batch frame from peer holds no frame");
  refuses(
    good.subarray(0, good.length - 3),
    "Batch frame from peer ends in the middle of a frame header at byte 8",
  );
  const cut = good.slice(0, 7);
  refuses(
    cut,
    "Frame of 3 bytes at byte 0 runs past the end of the batch from peer (7 bytes)",
  );
  const zero = good.slice();
  new DataView(zero.buffer).setUint32(8, 0);
  refuses(zero, "Frame with length 0 in a batch from peer at byte 8");
  const huge = good.slice();
  new DataView(huge.buffer).setUint32(0, 0xffffffff);
  refuses(
    huge,
    "Frame of 4294967294 bytes at byte 0 runs past the end of the batch from peer (13 bytes)",
  );
  refuses(
    pack([FrameType.Control, one], [FrameType.Batch, good]),
    "Batch frame from peer holds a batch frame at byte 8",
  );
  refuses(
    pack([FrameType.Handshake, one]),
    "Batch frame from peer holds a handshake frame at byte 0",
  );
  refuses(
    pack([FrameType.Control, one], [6, one]),
    "Unknown frame type 6 from peer",
  );
});

Deno.test("a malformed batch record fails before any of its frames is used", async () => {
  using pair = await socketPair();
  const [a, b] = pair;
  const receiver = sealed(b);
  const sealer = new RecordSealer(key);
  const payload = pack(
    [FrameType.Control, new TextEncoder().encode('{"type":"done"}')],
    [FrameType.Handshake, new Uint8Array(65)],
  );
  const record = new Uint8Array(
    RECORD_HEADER_LENGTH + 1 + payload.length + TAG_LENGTH,
  );
  sealer.seal(FrameType.Batch, payload, record, 0);
  await a.write(record);
  await assert.rejects(
    () => receiver.receive(),
    (error: Error) =>
      error instanceof ProtocolError &&
      error.message ===
        "Batch frame from peer holds a handshake frame at byte 20",
  );
});

Deno.test("a batch may carry compressed data frames, as small records of a compressed file", () => {
  const zstd = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]);
  const frames = unpackBatch(
    pack([FrameType.Control, new Uint8Array([0x7b, 0x7d])], [
      FrameType.Compressed,
      zstd,
    ]),
  );
  assert.deepEqual(frames.map((frame) => frame.type), [
    FrameType.Control,
    FrameType.Compressed,
  ]);
  assert.deepEqual(frames[1].payload, zstd);
});
