/**
 * The key exchange of `docs/PROTOCOL.md`, section 8.2, with the two random
 * scalars fixed, and the P-256 parameters of section 3.5: computed with
 * `lib/secure/pake.ts`, `lib/secure/handshake.ts` and
 * `lib/secure/record.ts`, and with this module's own copies of the SPAKE2
 * parameters, which it first checks against the code.
 *
 * @module
 */

import { scryptSync } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  encodeHello,
  FRAME_HEADER_LENGTH,
  FrameType,
  PROTOCOL_VERSION,
  Role,
  writeFrameHeader,
} from "../../protocol.ts";
import {
  codeToScalar,
  CONFIRMATION_LENGTH,
  SHARE_LENGTH,
  Spake2,
} from "../../lib/secure/pake.ts";
import { deriveRecordKeys, newPake } from "../../lib/secure/handshake.ts";
import { RecordSealer } from "../../lib/secure/record.ts";
import { normalizeCode } from "../../lib/secure/code.ts";
import type { Sent } from "./sessions.ts";
import { bytesOf, check, equal, fence, hex, hexLines, note } from "./format.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The SPAKE2 parameters as the document states them (3.5, 3.6). */
export const PAKE_PARAMETERS = {
  idA: "deno-ft client",
  idB: "deno-ft server",
  aad: `deno-ft protocol ${PROTOCOL_VERSION}`,
  /** RFC 9382, section 6, compressed SEC1. */
  m: "02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f",
  /** RFC 9382, section 6, compressed SEC1. */
  n: "03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49",
  salt: "deno-ft spake2 v2 code",
} as const;

/** The HKDF info strings of the record keys (3.7). */
export const RECORD_KEY_INFO = {
  c2s: `deno-ft ${PROTOCOL_VERSION} client to server`,
  s2c: `deno-ft ${PROTOCOL_VERSION} server to client`,
} as const;

/** The code of the example of 8.2, as shown and as typed. */
export const EXAMPLE_CODE = "4071-apple-river-stone";
const EXAMPLE_TYPED = "  4071 Apple  river-STONE \n";

const Point = p256.Point;

function scalarBytes(value: bigint): Uint8Array {
  return bytesOf(value.toString(16).padStart(64, "0"));
}

function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + bytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(bytes.length), true);
  out.set(bytes, 8);
  return out;
}

/** The P-256 parameters and the points M and N (3.5). */
export function curveBlock(): string {
  const curve = Point.CURVE();
  const groups = (value: bigint) =>
    value.toString(16).padStart(64, "0").match(/.{8}/g)!.join(" ");
  const m = Point.fromBytes(bytesOf(PAKE_PARAMETERS.m));
  const n = Point.fromBytes(bytesOf(PAKE_PARAMETERS.n));
  return fence([
    `p   = ${groups(curve.p)}`,
    `a   = ${groups(curve.a)}`,
    `b   = ${groups(curve.b)}`,
    `P.x = ${groups(curve.Gx)}`,
    `P.y = ${groups(curve.Gy)}`,
    `n   = ${groups(curve.n)}`,
    `h   = ${curve.h}`,
    `M.x = ${groups(m.x)}`,
    `M.y = ${groups(m.y)}`,
    `N.x = ${groups(n.x)}`,
    `N.y = ${groups(n.y)}`,
  ]);
}

/** The key exchange of 8.2 with fixed scalars, checked against the code. */
export function keyExchange() {
  const code = normalizeCode(EXAMPLE_TYPED);
  check(code === EXAMPLE_CODE, "the example code does not normalize");
  const output = new Uint8Array(
    scryptSync(encoder.encode(code), encoder.encode(PAKE_PARAMETERS.salt), 64, {
      N: 4096,
      r: 8,
      p: 1,
    }),
  );
  const w = codeToScalar(code);
  check(
    Point.Fn.create(BigInt("0x" + hex(output).replaceAll(" ", ""))) === w,
    "w is no longer scrypt(code, salt, N = 4096, r = 8, p = 1) mod n",
  );
  const options = {
    idA: encoder.encode(PAKE_PARAMETERS.idA),
    idB: encoder.encode(PAKE_PARAMETERS.idB),
    aad: encoder.encode(PAKE_PARAMETERS.aad),
  };
  // Our identities and AAD against the ones of lib/secure/handshake.ts: the two
  // sides only confirm each other when all three are the same.
  const ours = new Spake2("A", w, options);
  const theirs = newPake(Role.Server, w);
  const oursKeys = ours.finish(theirs.share);
  const theirKeys = theirs.finish(ours.share);
  try {
    theirKeys.verifyPeer(oursKeys.confirmation);
    oursKeys.verifyPeer(theirKeys.confirmation);
  } catch {
    check(
      false,
      "the SPAKE2 identities or AAD of lib/secure/handshake.ts changed",
    );
  }
  const x = BigInt("0x" + "11".repeat(32));
  const y = BigInt("0x" + "22".repeat(32));
  const client = new Spake2("A", w, options, x);
  const server = new Spake2("B", w, options, y);
  const pA = client.share;
  const pB = server.share;
  const m = Point.fromBytes(bytesOf(PAKE_PARAMETERS.m));
  const n = Point.fromBytes(bytesOf(PAKE_PARAMETERS.n));
  check(
    equal(pA, Point.BASE.multiply(x).add(m.multiply(w)).toBytes(false)),
    "pA is no longer x·P + w·M with the M of RFC 9382",
  );
  const kClient = client.finish(pB);
  const kServer = server.finish(pA);
  const k = Point.fromBytes(pB).subtract(n.multiply(w)).multiply(x)
    .toBytes(false);
  const idA = options.idA, idB = options.idB, wBytes = scalarBytes(w);
  const tt = new Uint8Array([
    ...lengthPrefixed(idA),
    ...lengthPrefixed(idB),
    ...lengthPrefixed(pA),
    ...lengthPrefixed(pB),
    ...lengthPrefixed(k),
    ...lengthPrefixed(wBytes),
  ]);
  const hashTT = sha256(tt);
  check(
    equal(hashTT, kClient.transcriptHash) &&
      equal(hashTT, kServer.transcriptHash),
    "the transcript TT (or the N of RFC 9382) changed",
  );
  const ka = hashTT.slice(16);
  const kc = hkdf(
    sha256,
    ka,
    undefined,
    encoder.encode("ConfirmationKeys" + PAKE_PARAMETERS.aad),
    32,
  );
  const cA = hmac(sha256, kc.slice(0, 16), tt);
  const cB = hmac(sha256, kc.slice(16), tt);
  check(
    equal(cA, kClient.confirmation) && equal(cB, kServer.confirmation),
    "the confirmation keys or MACs changed",
  );
  const keys = deriveRecordKeys(kClient);
  const ke = hashTT.slice(0, 16);
  const c2s = hkdf(sha256, ke, hashTT, encoder.encode(RECORD_KEY_INFO.c2s), 32);
  const s2c = hkdf(sha256, ke, hashTT, encoder.encode(RECORD_KEY_INFO.s2c), 32);
  check(
    equal(c2s, keys.toServer) && equal(s2c, keys.toClient),
    "the record keys are no longer derived as 3.7 says",
  );
  return {
    output,
    w: wBytes,
    pA,
    pB,
    k,
    idA,
    idB,
    tt,
    hashTT,
    kc,
    cA,
    cB,
    c2s,
    s2c,
  };
}

export function keyExchangeBlocks(
  kx: ReturnType<typeof keyExchange>,
  out: Map<string, string>,
): void {
  out.set("scrypt", fence(hexLines(kx.output)));
  out.set("w", fence(hexLines(kx.w)));
  out.set(
    "shares",
    fence(["pA:", ...hexLines(kx.pA), "pB:", ...hexLines(kx.pB)]),
  );
  out.set("K", fence(hexLines(kx.k)));
  const field = (label: string, bytes: Uint8Array) => [
    note(
      hex(lengthPrefixed(bytes).subarray(0, 8)),
      50,
      `len = ${bytes.length}, ${label}`,
    ),
    ...hexLines(bytes),
  ];
  out.set(
    "TT",
    fence([
      ...field(`idA = "${PAKE_PARAMETERS.idA}"`, kx.idA),
      ...field(`idB = "${PAKE_PARAMETERS.idB}"`, kx.idB),
      ...field("pA", kx.pA),
      ...field("pB", kx.pB),
      ...field("K", kx.k),
      ...field("w", kx.w),
    ]),
  );
  const confirmation = `ConfirmationKeys${PAKE_PARAMETERS.aad}`;
  out.set(
    "keys",
    fence([
      "Hash(TT) = SHA-256(TT):",
      ...hexLines(kx.hashTT),
      "Ke  = first half of Hash(TT):",
      ...hexLines(kx.hashTT.subarray(0, 16)),
      "Ka  = second half of Hash(TT):",
      ...hexLines(kx.hashTT.subarray(16)),
      `KcA = first half of HKDF(IKM = Ka, no salt, info = "${confirmation}", L = 32):`,
      ...hexLines(kx.kc.subarray(0, 16)),
      "KcB = second half of the same:",
      ...hexLines(kx.kc.subarray(16)),
      "cA  = HMAC-SHA256(KcA, TT):",
      ...hexLines(kx.cA),
      "cB  = HMAC-SHA256(KcB, TT):",
      ...hexLines(kx.cB),
      `K_c2s = HKDF(IKM = Ke, salt = Hash(TT), info = "${RECORD_KEY_INFO.c2s}", L = 32):`,
      ...hexLines(kx.c2s),
      `K_s2c = HKDF(IKM = Ke, salt = Hash(TT), info = "${RECORD_KEY_INFO.s2c}", L = 32):`,
      ...hexLines(kx.s2c),
    ]),
  );
}

/** One sealed record: length field, ciphertext and tag. */
export function seal(sealer: RecordSealer, frame: Sent) {
  const record = new Uint8Array(4 + 1 + frame.payload.length + 16);
  sealer.seal(frame.type, frame.payload, record, 0);
  return {
    header: record.subarray(0, 4),
    text: record.subarray(4, record.length - 16),
    tag: record.subarray(record.length - 16),
  };
}

/** The clear header of a handshake frame with `length` payload bytes. */
export function handshakeHeader(length: number): Uint8Array {
  const header = new Uint8Array(FRAME_HEADER_LENGTH);
  writeFrameHeader(header, 0, FrameType.Handshake, length);
  return header;
}

/** The bytes of the connection of 8.2 and the table of its plaintexts. */
export function wireBlocks(
  kx: ReturnType<typeof keyExchange>,
  frames: readonly Sent[],
  out: Map<string, string>,
): void {
  const client = hex(encodeHello(Role.Client));
  const server = hex(encodeHello(Role.Server));
  const sealers = {
    "C>": new RecordSealer(kx.c2s),
    "S>": new RecordSealer(kx.s2c),
  };
  const counters = { "C>": 0, "S>": 0 };
  const lines = [
    note(`C> ${client}`, 33, "hello"),
    note(`S> ${server}`, 33, "hello"),
    note(
      `C> ${hex(handshakeHeader(SHARE_LENGTH))} ‖ pA`,
      33,
      "handshake frame, 65-byte payload",
    ),
    note(
      `S> ${
        hex(handshakeHeader(SHARE_LENGTH + CONFIRMATION_LENGTH))
      } ‖ pB ‖ cB`,
      33,
      "handshake frame, 97-byte payload",
    ),
  ];
  const rows = [
    "| record | key, nonce counter | plaintext |",
    "| --- | --- | --- |",
  ];
  for (const [i, frame] of frames.entries()) {
    const key = frame.dir === "C>" ? "K_c2s" : "K_s2c";
    const counter = counters[frame.dir]++;
    const record = seal(sealers[frame.dir], frame);
    const length = record.text.length + 16;
    if (i === 0) {
      lines.push(
        note(
          `C> ${hex(handshakeHeader(CONFIRMATION_LENGTH))} ‖ cA`,
          33,
          "handshake frame, 32-byte payload, and in the",
        ),
        note(
          "",
          33,
          `same write (${
            FRAME_HEADER_LENGTH + CONFIRMATION_LENGTH + 4 + length
          } bytes in all):`,
        ),
      );
    }
    lines.push(
      note(
        `${frame.dir} ${hex(record.header)}`,
        33,
        `record ${counter}: ${key}, counter ${counter}, L = ${length}`,
      ),
      "   ciphertext:",
      ...hexLines(record.text, 16, "   "),
      "   tag:",
      ...hexLines(record.tag, 16, "   "),
    );
    const json = decoder.decode(frame.payload);
    rows.push(
      `| ${frame.dir} record ${counter} | \`${key}\`, ${counter} | \`01\` ‖ \`${json}\` (${frame.payload.length}) |`,
    );
  }
  lines.push("   (server closes; client closes)");
  out.set("wire", fence(lines));
  out.set("record-plaintexts", rows.join("\n"));
}
