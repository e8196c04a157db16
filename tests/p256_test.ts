/**
 * Tests for lib/secure/p256.ts: node:crypto's multiplication, with the
 * point recovered from its x-coordinate, gives exactly what noble's own
 * P-256 gives, at the edges of the scalar range and for points of either
 * y parity.
 */

import assert from "node:assert/strict";
import { p256 } from "@noble/curves/nist.js";
import { randomBytes } from "node:crypto";
import { bytesToNumberBE } from "@noble/curves/utils.js";
import { Fn, multiply, multiplyBase, Point } from "../lib/secure/p256.ts";

const ORDER = Fn.ORDER;

/** noble's own P-256, independent of the curve p256.ts builds. */
function reference(point: Point, k: bigint): Uint8Array {
  const own = p256.Point.fromBytes(point.toBytes(false));
  return k === 0n ? new Uint8Array([0]) : own.multiply(k).toBytes(false);
}

function encoded(point: Point): Uint8Array {
  return point.is0() ? new Uint8Array([0]) : point.toBytes(false);
}

function randomScalar(): bigint {
  return Fn.create(bytesToNumberBE(randomBytes(48)));
}

Deno.test("multiply agrees with noble at the edges of the scalar range", () => {
  // G and -G are where Q+G is 2G or the identity; 2G for the doubling.
  const points = [
    Point.BASE,
    Point.BASE.negate(),
    Point.BASE.multiply(2n),
    Point.BASE.multiply(7n),
  ];
  const edges = [0n, 1n, 2n, 3n, ORDER - 3n, ORDER - 2n, ORDER - 1n];
  for (const point of points) {
    for (const k of edges) {
      assert.deepEqual(
        encoded(multiply(point, k)),
        reference(point, k),
        `${k}`,
      );
    }
  }
});

Deno.test("multiply agrees with noble for random scalars, both y parities", () => {
  const parities = new Set<boolean>();
  for (let i = 0; i < 40; i++) {
    const point = Point.BASE.multiply(randomScalar());
    const k = randomScalar();
    const product = multiply(point, k);
    assert.deepEqual(encoded(product), reference(point, k));
    parities.add((product.toAffine().y & 1n) === 0n);
  }
  // The recovery picks the odd-y point as often as the even one: a
  // version that always kept the even one would fail above.
  assert.equal(parities.size, 2);
});

Deno.test("multiply keeps an x-coordinate with a leading zero byte", () => {
  // 119*(7G) has an x below 2^248: ECDH's 32 bytes start with a zero.
  const point = Point.BASE.multiply(7n);
  const product = multiply(point, 119n);
  assert.ok(product.toAffine().x < 2n ** 248n);
  assert.deepEqual(encoded(product), reference(point, 119n));
});

Deno.test("multiply of the identity is the identity", () => {
  assert.ok(multiply(Point.ZERO, 5n).is0());
  assert.ok(multiply(Point.ZERO, 0n).is0());
});

Deno.test("multiplyBase agrees with noble and refuses 0 and n", () => {
  for (const k of [1n, 2n, ORDER - 1n, randomScalar() || 1n]) {
    assert.deepEqual(encoded(multiplyBase(k)), reference(Point.BASE, k));
  }
  assert.throws(() => multiplyBase(0n), RangeError);
  assert.throws(() => multiplyBase(ORDER), RangeError);
});

Deno.test("multiply refuses scalars outside [0, n)", () => {
  assert.throws(() => multiply(Point.BASE, ORDER), RangeError);
  assert.throws(() => multiply(Point.BASE, -1n), RangeError);
});
