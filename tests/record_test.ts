import assert from "node:assert/strict";
import {
  MAX_RECORD_BODY,
  readRecordLength,
  RecordOpener,
  RecordSealer,
} from "../lib/secure/record.ts";
import { FrameType, MAX_FRAME_PAYLOAD, ProtocolError } from "../protocol.ts";

const key = new Uint8Array(32).fill(7);

function sealAll(payloads: Uint8Array[]): Uint8Array[] {
  const sealer = new RecordSealer(key);
  return payloads.map((payload) => {
    const target = new Uint8Array(payload.length + 64);
    const length = sealer.seal(FrameType.Data, payload, target, 3);
    return target.slice(3, 3 + length);
  });
}

function open(opener: RecordOpener, record: Uint8Array) {
  readRecordLength(record);
  return opener.open(record.subarray(0, 4), record.subarray(4));
}

Deno.test("records open in order, and hide their content", () => {
  const payloads = [
    new Uint8Array(0),
    new TextEncoder().encode("secret"),
    new Uint8Array(MAX_FRAME_PAYLOAD).fill(1),
  ];
  const records = sealAll(payloads);
  assert.equal(records[1].length, 4 + 1 + 6 + 16);
  assert.ok(!new TextDecoder().decode(records[1]).includes("secret"));
  const opener = new RecordOpener(key);
  for (const [i, record] of records.entries()) {
    const frame = open(opener, record);
    assert.equal(frame.type, FrameType.Data);
    assert.deepEqual(frame.payload, payloads[i]);
  }
});

Deno.test("a flipped bit, a replay, a reorder, a drop or a cut length fails", () => {
  const payloads = [1, 2, 3].map((n) => new Uint8Array(100).fill(n));
  const fails = (records: Uint8Array[]) =>
    assert.throws(() => {
      const opener = new RecordOpener(key);
      for (const record of records) open(opener, record);
    }, (error: Error) =>
      error instanceof ProtocolError &&
      /failed authentication/.test(error.message));
  const [a, b, c] = sealAll(payloads);
  const flipped = b.slice();
  flipped[50] ^= 1;
  fails([a, flipped]);
  fails([a, a]);
  fails([b, a]);
  fails([a, c]);
  const wrongKey = new RecordOpener(new Uint8Array(32));
  assert.throws(() => open(wrongKey, a), /failed authentication/);
  const tag = a.slice();
  tag[tag.length - 1] ^= 0x80;
  fails([tag]);
});

Deno.test("record lengths outside the limits are refused before reading", () => {
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, 16);
  assert.throws(() => readRecordLength(header), /outside the allowed/);
  new DataView(header.buffer).setUint32(0, MAX_RECORD_BODY + 1);
  assert.throws(() => readRecordLength(header), /outside the allowed/);
  new DataView(header.buffer).setUint32(0, MAX_RECORD_BODY);
  assert.equal(readRecordLength(header), MAX_RECORD_BODY);
});

Deno.test("a record opened in pieces gives the same frame, and only once authenticated", () => {
  const payload = new Uint8Array(300_000).map((_, i) => i % 251);
  const [record] = sealAll([payload]);
  const length = readRecordLength(record);
  const openInPieces = (body: Uint8Array, piece: number) => {
    const opening = new RecordOpener(key).openInPieces(
      record.subarray(0, 4),
      length,
    );
    let at = 0;
    while (opening.textLeft() > 0) {
      const size = Math.min(piece, opening.textLeft());
      opening.update(body.subarray(at, at + size));
      at += size;
    }
    return opening.finish(body.subarray(at));
  };
  for (const piece of [1000, 65_536, 299_999, 400_000]) {
    const frame = openInPieces(record.subarray(4), piece);
    assert.equal(frame.type, FrameType.Data);
    assert.deepEqual(frame.payload, payload);
  }
  for (const at of [10, record.length - 20, record.length - 1]) {
    const changed = record.slice();
    changed[at] ^= 1;
    assert.throws(
      () => openInPieces(changed.subarray(4), 65_536),
      (error: Error) =>
        error instanceof ProtocolError &&
        /failed authentication/.test(error.message),
    );
  }
});
