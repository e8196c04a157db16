/**
 * `skipBaseTable` (what the client calls to save noble's base-point table
 * on a cold start) changes how x*P is computed, not its value: the shares
 * and keys of RFC 9382's first vector before and after it are the same.
 * In a file of its own: it changes the process's curve state.
 *
 * @module
 */

import assert from "node:assert/strict";
import { skipBaseTable, Spake2 } from "../lib/secure/pake.ts";
import { big, hex, options, Point } from "./pake_fixtures.ts";

// RFC 9382, Appendix B.1, first vector.
const W = big(
  "2ee57912099d31560b3a44b1184b9b4866e904c49d12ac5042c97dca461b1a5f",
);
const X = big(
  "43dd0fd7215bdcb482879fca3220c6a968e66d70b1356cac18bb26c84a78d729",
);
const Y = big(
  "dcb60106f276b02606d8ef0a328c02e4b629f84f89786af5befb0bc75b6e66be",
);
const PA = "04a56fa807caaa53a4d28dbb9853b9815c61a411118a6fe516a8798434751470" +
  "f9010153ac33d0d5f2047ffdb1a3e42c9b4e6be662766e1eeb4116988ede5f912c";
const PB = "0406557e482bd03097ad0cbaa5df82115460d951e3451962f1eaf4367a420676" +
  "d09857ccbc522686c83d1852abfa8ed6e4a1155cf8f1543ceca528afb591a1e0b7";
const KE = "0e0672dc86f8e45565d338b0540abe69";

/** Both shares and both sides' Ke for the vector. */
function exchange(): string[] {
  const a = new Spake2("A", W, options("server", "client"), X);
  const b = new Spake2("B", W, options("server", "client"), Y);
  const keysA = a.finish(b.share);
  const keysB = b.finish(a.share);
  return [
    hex(a.share),
    hex(b.share),
    hex(keysA.sharedKey),
    hex(keysB.sharedKey),
  ];
}

Deno.test("x*P and the exchange give the RFC's values with and without the base table", () => {
  const withTable = exchange();
  assert.deepEqual(withTable, [PA, PB, KE, KE]);
  const baseX = hex(Point.BASE.multiply(X).toBytes(false));
  skipBaseTable();
  assert.deepEqual(exchange(), withTable);
  assert.equal(hex(Point.BASE.multiply(X).toBytes(false)), baseX);
  // A random exchange agrees too, and differs from the vector's.
  const a = new Spake2("A", W, options("server", "client"));
  const b = new Spake2("B", W, options("server", "client"));
  const keysA = a.finish(b.share);
  const keysB = b.finish(a.share);
  assert.equal(hex(keysA.sharedKey), hex(keysB.sharedKey));
  assert.notEqual(hex(keysA.sharedKey), KE);
  keysA.verifyPeer(keysB.confirmation);
  keysB.verifyPeer(keysA.confirmation);
});
