import assert from "node:assert/strict";
import { releaseBuffer } from "../lib/common/release.ts";

Deno.test("a buffer of its own is freed at once", () => {
  const whole = new Uint8Array(1024);
  releaseBuffer(whole);
  assert.equal(whole.buffer.byteLength, 0);
  // A record's payload leaves out the type byte in front of it.
  const record = new Uint8Array(1025);
  const payload = record.subarray(1);
  releaseBuffer(payload);
  assert.equal(record.byteLength, 0);
});

Deno.test("a view into a larger buffer is left alone", () => {
  const batch = new Uint8Array(4096);
  releaseBuffer(batch.subarray(0, 100));
  assert.equal(batch.byteLength, 4096);
  const shared = new Uint8Array(new SharedArrayBuffer(64));
  releaseBuffer(shared);
  assert.equal(shared.byteLength, 64);
});
