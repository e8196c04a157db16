/**
 * The published test vectors of RFC 9382 (Appendix B.1,
 * SPAKE2-P256-SHA256-HKDF-HMAC) against `lib/secure/pake.ts`, and M and N
 * against Appendix A.
 *
 * @module
 */

import assert from "node:assert/strict";
import { concatBytes, hexToBytes } from "@noble/curves/utils.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { PakeError, Spake2 } from "../lib/secure/pake.ts";
import { big, hex, options, Point, RFC_M, RFC_N } from "./pake_fixtures.ts";

/** One vector of RFC 9382, Appendix B.1, hex as printed (without "0x"). */
interface Vector {
  idA: string;
  idB: string;
  w: string;
  x: string;
  pA: string;
  y: string;
  pB: string;
  k: string;
  tt: string;
  hashTT: string;
  ke: string;
  ka: string;
  kcA: string;
  kcB: string;
  confA: string;
  confB: string;
}

/** RFC 9382, Appendix B.1, in the RFC's order; long values as it wraps them. */
const VECTORS: Vector[] = [
  {
    idA: "server",
    idB: "client",
    w: "2ee57912099d31560b3a44b1184b9b4866e904c49d12ac5042c97dca461b1a5f",
    x: "43dd0fd7215bdcb482879fca3220c6a968e66d70b1356cac18bb26c84a78d729",
    pA: [
      "04a56fa807caaa53a4d28dbb9853b9815c61a411118a6fe516a8798434751470",
      "f9010153ac33d0d5f2047ffdb1a3e42c9b4e6be662766e1eeb4116988ede5f912c",
    ].join(""),
    y: "dcb60106f276b02606d8ef0a328c02e4b629f84f89786af5befb0bc75b6e66be",
    pB: [
      "0406557e482bd03097ad0cbaa5df82115460d951e3451962f1eaf4367a420676",
      "d09857ccbc522686c83d1852abfa8ed6e4a1155cf8f1543ceca528afb591a1e0b7",
    ].join(""),
    k: [
      "0412af7e89717850671913e6b469ace67bd90a4df8ce45c2af19010175e37eed",
      "69f75897996d539356e2fa6a406d528501f907e04d97515fbe83db277b715d3325",
    ].join(""),
    tt: [
      "06000000000000007365727665720600000000000000636c69656e744100000",
      "00000000004a56fa807caaa53a4d28dbb9853b9815c61a411118a6fe516a8798434751",
      "470f9010153ac33d0d5f2047ffdb1a3e42c9b4e6be662766e1eeb4116988ede5f912c4",
      "1000000000000000406557e482bd03097ad0cbaa5df82115460d951e3451962f1eaf43",
      "67a420676d09857ccbc522686c83d1852abfa8ed6e4a1155cf8f1543ceca528afb591a",
      "1e0b741000000000000000412af7e89717850671913e6b469ace67bd90a4df8ce45c2a",
      "f19010175e37eed69f75897996d539356e2fa6a406d528501f907e04d97515fbe83db2",
      "77b715d332520000000000000002ee57912099d31560b3a44b1184b9b4866e904c49d1",
      "2ac5042c97dca461b1a5f",
    ].join(""),
    hashTT: "0e0672dc86f8e45565d338b0540abe6915bdf72e2b35b5c9e5663168e960a91b",
    ke: "0e0672dc86f8e45565d338b0540abe69",
    ka: "15bdf72e2b35b5c9e5663168e960a91b",
    kcA: "00c12546835755c86d8c0db7851ae86f",
    kcB: "a9fa3406c3b781b93d804485430ca27a",
    confA: "58ad4aa88e0b60d5061eb6b5dd93e80d9c4f00d127c65b3b35b1b5281fee38f0",
    confB: "d3e2e547f1ae04f2dbdbf0fc4b79f8ecff2dff314b5d32fe9fcef2fb26dc459b",
  },
  {
    idA: "",
    idB: "client",
    w: "0548d8729f730589e579b0475a582c1608138ddf7054b73b5381c7e883e2efae",
    x: "403abbe3b1b4b9ba17e3032849759d723939a27a27b9d921c500edde18ed654b",
    pA: [
      "04a897b769e681c62ac1c2357319a3d363f610839c4477720d24cbe32f5fd85f",
      "44fb92ba966578c1b712be6962498834078262caa5b441ecfa9d4a9485720e918a",
    ].join(""),
    y: "903023b6598908936ea7c929bd761af6039577a9c3f9581064187c3049d87065",
    pB: [
      "04e0f816fd1c35e22065d5556215c097e799390d16661c386e0ecc84593974a6",
      "1b881a8c82327687d0501862970c64565560cb5671f696048050ca66ca5f8cc7fc",
    ].join(""),
    k: [
      "048f83ec9f6e4f87cc6f9dc740bdc2769725f923364f01c84148c049a39a735e",
      "bda82eac03e00112fd6a5710682767cff5361f7e819e53d8d3c3a2922e0d837aa6",
    ].join(""),
    tt: [
      "00000000000000000600000000000000636c69656e74410000000000000004a",
      "897b769e681c62ac1c2357319a3d363f610839c4477720d24cbe32f5fd85f44fb92ba9",
      "66578c1b712be6962498834078262caa5b441ecfa9d4a9485720e918a4100000000000",
      "00004e0f816fd1c35e22065d5556215c097e799390d16661c386e0ecc84593974a61b8",
      "81a8c82327687d0501862970c64565560cb5671f696048050ca66ca5f8cc7fc4100000",
      "000000000048f83ec9f6e4f87cc6f9dc740bdc2769725f923364f01c84148c049a39a7",
      "35ebda82eac03e00112fd6a5710682767cff5361f7e819e53d8d3c3a2922e0d837aa62",
      "0000000000000000548d8729f730589e579b0475a582c1608138ddf7054b73b5381c7e",
      "883e2efae",
    ].join(""),
    hashTT: "642f05c473c2cd79909f9a841e2f30a70bf89b18180af97353ba198789c2b963",
    ke: "642f05c473c2cd79909f9a841e2f30a7",
    ka: "0bf89b18180af97353ba198789c2b963",
    kcA: "c6be376fc7cd1301fd0a13adf3e7bffd",
    kcB: "b7243f4ae60440a49b3f8cab3c1fba07",
    confA: "47d29e6666af1b7dd450d571233085d7a9866e4d49d2645e2df975489521232b",
    confB: "3313c5cefc361d27fb16847a91c2a73b766ffa90a4839122a9b70a2f6bd1d6df",
  },
  {
    idA: "server",
    idB: "",
    w: "626e0cdc7b14c9db3e52a0b1b3a768c98e37852d5db30febe0497b14eae8c254",
    x: "07adb3db6bc623d3399726bfdbfd3d15a58ea776ab8a308b00392621291f9633",
    pA: [
      "04f88fb71c99bfffaea370966b7eb99cd4be0ff1a7d335caac4211c4afd855e2",
      "e15a873b298503ad8ba1d9cbb9a392d2ba309b48bfd7879aefd0f2cea6009763b0",
    ].join(""),
    y: "b6a4fc8dbb629d4ba51d6f91ed1532cf87adec98f25dd153a75accafafedec16",
    pB: [
      "040c269d6be017dccb15182ac6bfcd9e2a14de019dd587eaf4bdfd353f031101",
      "e7cca177f8eb362a6e83e7d5e729c0732e1b528879c086f39ba0f31a9661bd34db",
    ].join(""),
    k: [
      "0445ee233b8ecb51ebd6e7da3f307e88a1616bae2166121221fdc0dadb986afa",
      "f3ec8a988dc9c626fa3b99f58a7ca7c9b844bb3e8dd9554aafc5b53813504c1cbe",
    ].join(""),
    tt: [
      "06000000000000007365727665720000000000000000410000000000000004f",
      "88fb71c99bfffaea370966b7eb99cd4be0ff1a7d335caac4211c4afd855e2e15a873b2",
      "98503ad8ba1d9cbb9a392d2ba309b48bfd7879aefd0f2cea6009763b04100000000000",
      "000040c269d6be017dccb15182ac6bfcd9e2a14de019dd587eaf4bdfd353f031101e7c",
      "ca177f8eb362a6e83e7d5e729c0732e1b528879c086f39ba0f31a9661bd34db4100000",
      "0000000000445ee233b8ecb51ebd6e7da3f307e88a1616bae2166121221fdc0dadb986",
      "afaf3ec8a988dc9c626fa3b99f58a7ca7c9b844bb3e8dd9554aafc5b53813504c1cbe2",
      "000000000000000626e0cdc7b14c9db3e52a0b1b3a768c98e37852d5db30febe0497b1",
      "4eae8c254",
    ].join(""),
    hashTT: "005184ff460da2ce59062c87733c299c3521297d736598fc0a1127600efa1afb",
    ke: "005184ff460da2ce59062c87733c299c",
    ka: "3521297d736598fc0a1127600efa1afb",
    kcA: "f3da53604f0aeecea5a33be7bddf6edf",
    kcB: "9e3f86848736f159bd92b6e107ec6799",
    confA: "bc9f9bbe99f26d0b2260e6456e05a86196a3307ec6663a18bf6ac825736533b2",
    confB: "c2370e1bf813b086dff0d834e74425a06e6390f48f5411900276dcccc5a297ec",
  },
  {
    idA: "",
    idB: "",
    w: "7bf46c454b4c1b25799527d896508afd5fc62ef4ec59db1efb49113063d70cca",
    x: "8cef65df64bb2d0f83540c53632de911b5b24b3eab6cc74a97609fd659e95473",
    pA: [
      "04a65b367a3f613cf9f0654b1b28a1e3a8a40387956c8ba6063e8658563890f4",
      "6ca1ef6a676598889fc28de2950ab8120b79a5ef1ea4c9f44bc98f585634b46d66",
    ].join(""),
    y: "d7a66f64074a84652d8d623a92e20c9675c61cb5b4f6a0063e4648a2fdc02d53",
    pB: [
      "04589f13218822710d98d8b2123a079041052d9941b9cf88c6617ddb2fcc0494",
      "662eea8ba6b64692dc318250030c6af045cb738bc81ba35b043c3dcb46adf6f58d",
    ].join(""),
    k: [
      "041a3c03d51b452537ca2a1fea6110353c6d5ed483c4f0f86f4492ca3f378d40",
      "a994b4477f93c64d928edbbcd3e85a7c709b7ea73ee97986ce3d1438e135543772",
    ].join(""),
    tt: [
      "00000000000000000000000000000000410000000000000004a65b367a3f613",
      "cf9f0654b1b28a1e3a8a40387956c8ba6063e8658563890f46ca1ef6a676598889fc28",
      "de2950ab8120b79a5ef1ea4c9f44bc98f585634b46d66410000000000000004589f132",
      "18822710d98d8b2123a079041052d9941b9cf88c6617ddb2fcc0494662eea8ba6b6469",
      "2dc318250030c6af045cb738bc81ba35b043c3dcb46adf6f58d4100000000000000041",
      "a3c03d51b452537ca2a1fea6110353c6d5ed483c4f0f86f4492ca3f378d40a994b4477",
      "f93c64d928edbbcd3e85a7c709b7ea73ee97986ce3d1438e1355437722000000000000",
      "0007bf46c454b4c1b25799527d896508afd5fc62ef4ec59db1efb49113063d70cca",
    ].join(""),
    hashTT: "fc6374762ba5cf11f4b2caa08b2cd1b9907ae0e26e8d6234318d91583cd74c86",
    ke: "fc6374762ba5cf11f4b2caa08b2cd1b9",
    ka: "907ae0e26e8d6234318d91583cd74c86",
    kcA: "5dbd2f477166b7fb6d61febbd77a5563",
    kcB: "7689b4654407a5faeffdc8f18359d8a3",
    confA: "dfb4db8d48ae5a675963ea5e6c19d98d4ea028d8e898dad96ea19a80ade95dca",
    confB: "d0f0609d1613138d354f7e95f19fb556bf52d751947241e8c7118df5ef0ae175",
  },
];

/** len(s) || s as RFC 9382, section 3.2 defines it, written independently. */
function prefixed(bytes: Uint8Array): Uint8Array {
  const length = new Uint8Array(8);
  let n = bytes.length;
  for (let i = 0; i < 8; i++) {
    length[i] = n & 0xff;
    n = Math.floor(n / 256);
  }
  return concatBytes(length, bytes);
}

/**
 * Appendix A of RFC 9382: the compressed point generated from `seed` by
 * iterated SHA-256, for a curve whose compressed points take 33 bytes.
 */
function generatePoint(seed: string): string {
  const blocks: Uint8Array[] = [];
  let block = utf8ToBytes(seed);
  for (let i = 0; i < 64; i++) {
    block = sha256(block);
    blocks.push(block);
  }
  for (let start = 0; start + 1 < blocks.length; start++) {
    const bytes = concatBytes(blocks[start], blocks[start + 1]).slice(0, 33);
    bytes[0] = (bytes[0] & 1) | 2;
    try {
      const point = Point.fromBytes(bytes);
      point.assertValidity();
      if (!point.is0() && point.isTorsionFree()) {
        return hex(bytes);
      }
    } catch {
      // Not an x coordinate on the curve: try the next block.
    }
  }
  throw new Error(`No point found for ${seed}`);
}

for (const v of VECTORS) {
  const name = `RFC 9382 B.1 vector A='${v.idA}', B='${v.idB}'`;

  Deno.test(`${name}: the published values are consistent`, () => {
    // Recomputes K, TT, Hash(TT), Ke, Ka, KcA, KcB and both confirmations
    // from the vector's own inputs with noble directly, following the RFC's
    // text; the implementation is checked against the same values below.
    const w = big(v.w);
    const M = Point.fromBytes(hexToBytes(RFC_M));
    const N = Point.fromBytes(hexToBytes(RFC_N));
    const pA = Point.fromBytes(hexToBytes(v.pA));
    const pB = Point.fromBytes(hexToBytes(v.pB));
    assert.equal(
      hex(Point.BASE.multiply(big(v.x)).add(M.multiply(w)).toBytes(false)),
      v.pA,
    );
    assert.equal(
      hex(Point.BASE.multiply(big(v.y)).add(N.multiply(w)).toBytes(false)),
      v.pB,
    );
    const kA = pB.subtract(N.multiply(w)).multiply(big(v.x));
    const kB = pA.subtract(M.multiply(w)).multiply(big(v.y));
    assert.equal(hex(kA.toBytes(false)), v.k);
    assert.equal(hex(kB.toBytes(false)), v.k);
    const tt = concatBytes(
      prefixed(utf8ToBytes(v.idA)),
      prefixed(utf8ToBytes(v.idB)),
      prefixed(hexToBytes(v.pA)),
      prefixed(hexToBytes(v.pB)),
      prefixed(hexToBytes(v.k)),
      prefixed(hexToBytes(v.w)),
    );
    assert.equal(hex(tt), v.tt);
    const digest = sha256(tt);
    assert.equal(hex(digest), v.hashTT);
    assert.equal(hex(digest.slice(0, 16)), v.ke);
    assert.equal(hex(digest.slice(16)), v.ka);
    const kc = hkdf(
      sha256,
      hexToBytes(v.ka),
      undefined,
      utf8ToBytes("ConfirmationKeys"),
      32,
    );
    assert.equal(hex(kc.slice(0, 16)), v.kcA);
    assert.equal(hex(kc.slice(16)), v.kcB);
    assert.equal(hex(hmac(sha256, hexToBytes(v.kcA), tt)), v.confA);
    assert.equal(hex(hmac(sha256, hexToBytes(v.kcB), tt)), v.confB);
  });

  Deno.test(`${name}: both roles reproduce it`, () => {
    const w = big(v.w);
    const a = new Spake2("A", w, options(v.idA, v.idB), big(v.x));
    const b = new Spake2("B", w, options(v.idA, v.idB), big(v.y));
    assert.equal(hex(a.share), v.pA);
    assert.equal(hex(b.share), v.pB);
    const keysA = a.finish(hexToBytes(v.pB));
    const keysB = b.finish(hexToBytes(v.pA));
    for (const keys of [keysA, keysB]) {
      // Hash(TT) pins TT and so K; its halves are Ke and Ka.
      assert.equal(hex(keys.transcriptHash), v.hashTT);
      assert.equal(hex(keys.sharedKey), v.ke);
      assert.equal(hex(keys.transcriptHash.slice(16)), v.ka);
    }
    // cA = MAC(KcA, TT) and cB = MAC(KcB, TT) pin KcA and KcB.
    assert.equal(hex(keysA.confirmation), v.confA);
    assert.equal(hex(keysB.confirmation), v.confB);
    keysA.verifyPeer(hexToBytes(v.confB));
    keysB.verifyPeer(hexToBytes(v.confA));
    assert.throws(() => keysA.verifyPeer(hexToBytes(v.confA)), PakeError);
    assert.throws(() => keysB.verifyPeer(hexToBytes(v.confB)), PakeError);
  });

  Deno.test(`${name}: the shares unmask with the RFC's M and N`, () => {
    // pA - x*P = w*M and pB - y*P = w*N for the module's own shares.
    const w = big(v.w);
    const a = new Spake2("A", w, options(v.idA, v.idB), big(v.x));
    const b = new Spake2("B", w, options(v.idA, v.idB), big(v.y));
    const wM = Point.fromBytes(a.share).subtract(Point.BASE.multiply(big(v.x)));
    const wN = Point.fromBytes(b.share).subtract(Point.BASE.multiply(big(v.y)));
    assert.ok(wM.equals(Point.fromBytes(hexToBytes(RFC_M)).multiply(w)));
    assert.ok(wN.equals(Point.fromBytes(hexToBytes(RFC_N)).multiply(w)));
  });
}

Deno.test("M and N are the RFC's points and follow from its seeds", () => {
  for (const encoded of [RFC_M, RFC_N]) {
    const point = Point.fromBytes(hexToBytes(encoded));
    point.assertValidity();
    assert.ok(!point.is0());
    assert.ok(!point.equals(Point.BASE));
  }
  assert.equal(
    generatePoint("1.2.840.10045.3.1.7 point generation seed (M)"),
    RFC_M,
  );
  assert.equal(
    generatePoint("1.2.840.10045.3.1.7 point generation seed (N)"),
    RFC_N,
  );
});
