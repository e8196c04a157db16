import assert from "node:assert/strict";
import { createHash, randomFillSync } from "node:crypto";
import { newHash, peekDigest } from "../lib/store/hash.ts";

/** The digest node:crypto gives for `data`, as the reference. */
function reference(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

// Sizes on both sides of where the hash moves from JavaScript to native.
const SIZES = [0, 1, 55, 64, 511, 512, 1023, 1024, 1025, 4096, 8192, 100_000];

Deno.test("a hash fed in one piece matches node:crypto at every size", () => {
  for (const size of SIZES) {
    const data = randomFillSync(new Uint8Array(size));
    assert.equal(
      newHash().update(data).digest("hex"),
      reference(data),
      `${size} B`,
    );
  }
});

Deno.test("a hash fed in pieces matches node:crypto, across the switch to native", () => {
  for (const size of SIZES) {
    for (const piece of [1, 7, 1000, 4096]) {
      const data = randomFillSync(new Uint8Array(size));
      const hash = newHash();
      for (let at = 0; at < size; at += piece) {
        hash.update(data.subarray(at, Math.min(size, at + piece)));
      }
      assert.equal(
        hash.digest("hex"),
        reference(data),
        `${size} B by ${piece}`,
      );
    }
  }
});

Deno.test("a hash keeps no reference to what it was given", () => {
  const data = randomFillSync(new Uint8Array(300));
  const expected = reference(data);
  const buffer = data.slice();
  const hash = newHash().update(buffer);
  // A reused read buffer is overwritten before the digest.
  buffer.fill(0);
  assert.equal(hash.digest("hex"), expected);
});

Deno.test("a peek or a copy leaves the hash usable and independent", () => {
  for (const first of [100, 4000, 5000]) {
    const a = randomFillSync(new Uint8Array(first));
    const b = randomFillSync(new Uint8Array(3000));
    const hash = newHash().update(a);
    assert.equal(peekDigest(hash), reference(a));
    const copy = hash.copy();
    hash.update(b);
    assert.equal(copy.digest("hex"), reference(a), `copy after ${first} B`);
    const both = new Uint8Array(first + b.length);
    both.set(a);
    both.set(b, first);
    assert.equal(hash.digest("hex"), reference(both), `${first} + 3000 B`);
  }
});
