/**
 * The P-256 group for SPAKE2: points from `@noble/curves`, and scalar
 * multiplication by node:crypto's P-256 (in Deno the RustCrypto `p256`
 * crate: native code, constant-time in the scalar) instead of noble's
 * BigInt code, which on a cold JIT cost a client 4 to 5 ms per
 * multiplication at start, 11 ms of its key exchange. Around the native
 * multiplication, the point's recovery below (decompression, additions)
 * is BigInt code, as noble's whole multiplication was.
 *
 * node:crypto's ECDH with private key `k` gives `k*G` whole, but of `k*Q`
 * only the x-coordinate. The point is the one of the two with that x
 * whose sum with `k*G` has the x-coordinate of `k*(Q+G)`: for the other,
 * `-k*Q + k*G = k*(G-Q)`, which is `+-k*(Q+G)` only if `2Q` or `2G` is the
 * identity, never in a group of prime order.
 *
 * @module
 */

import { createECDH } from "node:crypto";
import { weierstrass } from "@noble/curves/abstract/weierstrass.js";
import { bytesToNumberBE } from "@noble/curves/utils.js";

/**
 * P-256 (NIST FIPS 186-5, SEC 2 secp256r1), built here rather than taken
 * from noble's nist.js, which builds P-384, P-521 and their hashers at
 * import too: 5 ms of every process's start.
 */
export const Point = weierstrass({
  p: BigInt(
    "0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
  ),
  n: BigInt(
    "0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
  ),
  h: 1n,
  a: BigInt(
    "0xffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
  ),
  b: BigInt(
    "0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
  ),
  Gx: BigInt(
    "0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
  ),
  Gy: BigInt(
    "0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
  ),
});
/** A point of P-256. */
export type Point = typeof Point.BASE;

/** The scalar field: integers modulo the group order n. */
export const Fn = Point.Fn;

/** SEC1 prefix of a compressed point whose y is even. */
const COMPRESSED_EVEN = 0x02;

/**
 * `k*P` for the base point P. The result is read back as a point, which
 * checks that it is on the curve.
 */
export function multiplyBase(k: bigint): Point {
  if (!Fn.isValidNot0(k)) {
    throw new RangeError("P-256 scalar is out of range");
  }
  return Point.fromBytes(ecdhKey(k).getPublicKey());
}

/**
 * `k*point` for `k` in [0, n); the identity for `k = 0` or the identity
 * point, as in the group. Three native multiplications: `k*G`, and the x
 * of `k*Q` and of `k*(Q+G)`.
 */
export function multiply(point: Point, k: bigint): Point {
  if (!Fn.isValid(k)) {
    throw new RangeError("P-256 scalar is out of range");
  }
  if (k === 0n || point.is0()) return Point.ZERO;
  const shifted = point.add(Point.BASE);
  // Q = -G: Q+G is the identity, which ECDH refuses; k*Q is -(k*G).
  if (shifted.is0()) return multiplyBase(k).negate();
  const ecdh = ecdhKey(k);
  const kG = Point.fromBytes(ecdh.getPublicKey());
  const x = ecdh.computeSecret(point.toBytes(false));
  const xShifted = bytesToNumberBE(ecdh.computeSecret(shifted.toBytes(false)));
  const candidate = Point.fromBytes(compressed(x));
  // For Q = G the wrong candidate's sum is the identity, which has no x.
  const sum = candidate.add(kG);
  return !sum.is0() && sum.toAffine().x === xShifted
    ? candidate
    : candidate.negate();
}

/** node:crypto's P-256 key with private scalar `k`, in [1, n). */
function ecdhKey(k: bigint): ReturnType<typeof createECDH> {
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(Fn.toBytes(k));
  return ecdh;
}

/** The SEC1 compressed form of the point with `x` and an even y. */
function compressed(x: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(1 + x.length);
  bytes[0] = COMPRESSED_EVEN;
  bytes.set(x, 1);
  return bytes;
}
