/**
 * What the tests of `lib/secure/pake.ts` share: the P-256 point type and
 * order, M and N as RFC 9382 prints them, and small conversions.
 *
 * @module
 */

import { p256 } from "@noble/curves/nist.js";
import { bytesToHex } from "@noble/curves/utils.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";

/** The points of P-256. */
export const Point = p256.Point;
/** The order of its group. */
export const ORDER = Point.Fn.ORDER;
/** No associated data. */
export const NO_AAD = new Uint8Array(0);

/** M and N for P-256 as printed in RFC 9382, section 6. */
export const RFC_M =
  "02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f";
export const RFC_N =
  "03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49";

/** The number `hex` writes (without "0x"). */
export function big(hex: string): bigint {
  return BigInt(`0x${hex}`);
}

/** `bytes` in lowercase hex. */
export function hex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

/** SPAKE2 options with the identities `idA`, `idB` and `aad`. */
export function options(idA = "", idB = "", aad = NO_AAD) {
  return { idA: utf8ToBytes(idA), idB: utf8ToBytes(idB), aad };
}
