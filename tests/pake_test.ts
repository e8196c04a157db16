/**
 * Tests for lib/secure/pake.ts around the RFC's vectors (which
 * `pake_vectors_test.ts` checks): agreement, mismatched codes, identities
 * and AAD, bad confirmations and shares, and the code's password scalar.
 */

import assert from "node:assert/strict";
import { concatBytes, hexToBytes } from "@noble/curves/utils.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import {
  codeToScalar,
  CONFIRMATION_LENGTH,
  PakeError,
  SHARE_LENGTH,
  Spake2,
} from "../lib/secure/pake.ts";
import { big, hex, options, ORDER, Point, RFC_N } from "./pake_fixtures.ts";

Deno.test("two random sides with the same code agree and confirm", () => {
  const w = codeToScalar("7-crossword-banana");
  const opts = options("client", "server", utf8ToBytes("deno-ft v2"));
  const a = new Spake2("A", w, opts);
  const b = new Spake2("B", w, opts);
  assert.equal(a.share.length, SHARE_LENGTH);
  assert.equal(b.share.length, SHARE_LENGTH);
  assert.notEqual(hex(a.share), hex(b.share));
  const keysA = a.finish(b.share);
  const keysB = b.finish(a.share);
  assert.equal(keysA.sharedKey.length, 16);
  assert.deepEqual(keysA.sharedKey, keysB.sharedKey);
  assert.deepEqual(keysA.transcriptHash, keysB.transcriptHash);
  assert.equal(keysA.confirmation.length, CONFIRMATION_LENGTH);
  assert.equal(keysB.confirmation.length, CONFIRMATION_LENGTH);
  assert.notDeepEqual(keysA.confirmation, keysB.confirmation);
  keysB.verifyPeer(keysA.confirmation);
  keysA.verifyPeer(keysB.confirmation);
  // A second exchange with the same code uses fresh secrets.
  const again = new Spake2("A", w, opts);
  assert.notEqual(hex(again.share), hex(a.share));
});

Deno.test("different codes fail key confirmation", () => {
  const opts = options("client", "server");
  const a = new Spake2("A", codeToScalar("7-crossword-banana"), opts);
  const b = new Spake2("B", codeToScalar("7-crossword-bandana"), opts);
  const keysA = a.finish(b.share);
  const keysB = b.finish(a.share);
  assert.notDeepEqual(keysA.sharedKey, keysB.sharedKey);
  assert.throws(
    () => keysB.verifyPeer(keysA.confirmation),
    { name: "PakeError", message: "Key confirmation failed" },
  );
  assert.throws(() => keysA.verifyPeer(keysB.confirmation), PakeError);
});

Deno.test("mismatched identities or AAD fail key confirmation", () => {
  const w = codeToScalar("7-crossword-banana");
  const cases = [
    [options("client", "server"), options("client", "mallory")],
    [
      options("client", "server", utf8ToBytes("v2")),
      options("client", "server", utf8ToBytes("v1")),
    ],
  ];
  for (const [optsA, optsB] of cases) {
    const a = new Spake2("A", w, optsA);
    const b = new Spake2("B", w, optsB);
    const keysA = a.finish(b.share);
    const keysB = b.finish(a.share);
    assert.throws(() => keysB.verifyPeer(keysA.confirmation), PakeError);
    assert.throws(() => keysA.verifyPeer(keysB.confirmation), PakeError);
  }
});

Deno.test("a tampered or truncated confirmation is rejected", () => {
  const w = codeToScalar("7-crossword-banana");
  const a = new Spake2("A", w, options());
  const b = new Spake2("B", w, options());
  const keysA = a.finish(b.share);
  const keysB = b.finish(a.share);
  const tampered = keysA.confirmation.slice();
  tampered[CONFIRMATION_LENGTH - 1] ^= 1;
  for (
    const mac of [
      tampered,
      keysA.confirmation.subarray(0, 16),
      concatBytes(keysA.confirmation, new Uint8Array(1)),
      new Uint8Array(0),
    ]
  ) {
    assert.throws(() => keysB.verifyPeer(mac), {
      name: "PakeError",
      message: "Key confirmation failed",
    });
  }
  keysB.verifyPeer(keysA.confirmation);
});

Deno.test("invalid shares are rejected with PakeError", () => {
  const w = codeToScalar("7-crossword-banana");
  const valid = new Spake2("B", w, options()).share;
  const point = Point.fromBytes(valid);
  const offCurve = valid.slice();
  offCurve[SHARE_LENGTH - 1] ^= 1;
  const badPrefix = valid.slice();
  badPrefix[0] = 0x06;
  const fieldPrime = hexToBytes(
    "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
  );
  const xTooLarge = concatBytes(Uint8Array.of(4), fieldPrime, valid.slice(33));
  const identity = [
    Uint8Array.of(0),
    new Uint8Array(SHARE_LENGTH),
    concatBytes(Uint8Array.of(4), new Uint8Array(SHARE_LENGTH - 1)),
  ];
  const shares: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["too short", valid.subarray(0, SHARE_LENGTH - 1)],
    ["too long", concatBytes(valid, Uint8Array.of(0))],
    ["not on the curve", offCurve],
    ["hybrid prefix", badPrefix],
    ["x not below the field prime", xTooLarge],
    ["compressed", point.toBytes(true)],
    ...identity.map((
      bytes,
      i,
    ): [string, Uint8Array] => [`identity ${i}`, bytes]),
  ];
  for (const [label, share] of shares) {
    const side = new Spake2("A", w, options());
    assert.throws(() => side.finish(share), (error: unknown) => {
      assert.ok(error instanceof PakeError, label);
      assert.equal(error.name, "PakeError");
      assert.match(error.message, /^Invalid PAKE share: /, label);
      return true;
    });
  }
});

Deno.test("a share that cancels the password mask is rejected", () => {
  // pB = w*N leaves the identity after unmasking; K would be the identity.
  const w = codeToScalar("7-crossword-banana");
  const share = Point.fromBytes(hexToBytes(RFC_N)).multiply(w).toBytes(false);
  const side = new Spake2("A", w, options());
  assert.throws(() => side.finish(share), PakeError);
});

Deno.test("finish runs once and the constructor checks its scalars", () => {
  const w = codeToScalar("7-crossword-banana");
  const a = new Spake2("A", w, options());
  const b = new Spake2("B", w, options());
  a.finish(b.share);
  assert.throws(() => a.finish(b.share), Error);
  assert.throws(() => new Spake2("A", ORDER, options()), RangeError);
  assert.throws(() => new Spake2("A", -1n, options()), RangeError);
  assert.throws(() => new Spake2("A", w, options(), 0n), RangeError);
  assert.throws(() => new Spake2("A", w, options(), ORDER), RangeError);
  // w = 0 is in range: both sides still agree.
  const zeroA = new Spake2("A", 0n, options());
  const zeroB = new Spake2("B", 0n, options());
  assert.deepEqual(
    zeroA.finish(zeroB.share).sharedKey,
    zeroB.finish(zeroA.share).sharedKey,
  );
});

Deno.test("codeToScalar is scrypt(N=2^12, r=8, p=1, 64 bytes) mod n", () => {
  // The scrypt output, as @noble/hashes/scrypt.js and Node's own
  // crypto.scryptSync both give it for this code and the module's salt.
  const output = [
    "58e36ae1d34b126f86cfa0e0ff2c6548b88de106be967432420a54bfb33208f1",
    "113c78d2abf56d64bcb2ec25ae8d84d0e468e2e2f85e9784b05fc52869abc8a1",
  ].join("");
  assert.equal(codeToScalar("7-crossword-banana"), big(output) % ORDER);
});

Deno.test("codeToScalar is deterministic, code-specific and below n", () => {
  const first = codeToScalar("7-crossword-banana");
  assert.equal(codeToScalar("7-crossword-banana"), first);
  assert.notEqual(codeToScalar("7-crossword-bandana"), first);
  assert.notEqual(codeToScalar(""), first);
  for (const value of [first, codeToScalar(""), codeToScalar("ünïcødé")]) {
    assert.equal(typeof value, "bigint");
    assert.ok(value >= 0n && value < ORDER);
  }
});
