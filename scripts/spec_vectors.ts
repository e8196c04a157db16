/**
 * Computes the test vectors of `docs/PROTOCOL.md` from the code: the P-256
 * parameters and the white space of section 3, the compressed data frame
 * of 6.4 (decompressed by the code), every block of section 8
 * (hellos, frame headers, record plaintexts, the key exchange of 8.2 with
 * its fixed scalars, the records of 8.3, the session transcripts of 8.4,
 * 8.5 and 8.6), the discovery packets of section 9 and the word list of the
 * appendix. `tests/protocol_doc_test.ts`
 * checks that the document still holds exactly these.
 *
 *     deno run -A scripts/spec_vectors.ts            prints every block
 *     deno run -A scripts/spec_vectors.ts --write    puts them in the doc
 *
 * In the document each block sits between `<!-- vector NAME -->` and
 * `<!-- /vector -->`; `--write` replaces what is there and runs `deno fmt`
 * on the file. The prose around the blocks is not generated: after a change
 * of `PROTOCOL_VERSION`, read it again.
 *
 * The transcripts come from real sessions of `lib/transfer/sender.ts` against
 * `lib/transfer/receiver.ts` over loopback TCP, on files in a temporary folder,
 * each side's frames recorded as they are sent (the client sending, and in
 * 8.6 a sharing server sending); the key exchange of 8.2 is
 * the one of `lib/secure/pake.ts` with the two random scalars fixed, and the
 * script checks its own copies of the SPAKE2 parameters against the code
 * before it uses them.
 *
 * Helpers: `scripts/spec/format.ts` (hex), `scripts/spec/key_exchange.ts`
 * (3.5 and 8.2) and `scripts/spec/sessions.ts` (the sessions).
 *
 * @module
 */

import {
  compressedContentSize,
  encodeHello,
  FrameType,
  HELLO_FLAG_BUSY,
  HELLO_FLAG_SERVER_SENDS,
  PROTOCOL_VERSION,
  Role,
} from "../protocol.ts";
import {
  codeToScalar,
  CONFIRMATION_LENGTH,
  SHARE_LENGTH,
} from "../lib/secure/pake.ts";
import { RecordSealer } from "../lib/secure/record.ts";
import {
  encodeAnswer,
  encodeQuery,
  FLAG_SHARES,
  FLAG_TLS,
} from "../lib/net/discovery_packet.ts";
import { decompressFrame } from "../lib/transfer/zstd_records.ts";
import { WORDS } from "../lib/secure/wordlist.ts";
import {
  bytesOf,
  check,
  equal,
  fence,
  hex,
  hexLines,
  note,
} from "./spec/format.ts";
import {
  curveBlock,
  EXAMPLE_CODE,
  handshakeHeader,
  keyExchange,
  keyExchangeBlocks,
  seal,
  wireBlocks,
} from "./spec/key_exchange.ts";
import { runSessions, type Sent, transcript } from "./spec/sessions.ts";
import { batchBlocks } from "./spec/batch.ts";

const decoder = new TextDecoder();
const DONE = '{"type":"done"}';

/**
 * What `String.prototype.trim` removes and `\s` matches: the same set,
 * checked over every code point.
 */
function whitespaceBlock(): string {
  const trimmed: number[] = [];
  for (let c = 0; c <= 0x10ffff; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const text = String.fromCodePoint(c);
    const trims = text.trim() === "";
    check(trims === /\s/.test(text), `trim and \\s differ at ${c}`);
    if (trims) trimmed.push(c);
  }
  const name = (c: number) =>
    "U+" + c.toString(16).toUpperCase().padStart(4, "0");
  const parts: string[] = [];
  for (let i = 0; i < trimmed.length; i++) {
    let j = i;
    while (j + 1 < trimmed.length && trimmed[j + 1] === trimmed[j] + 1) j++;
    parts.push(
      j - i >= 2 ? `${name(trimmed[i])}-${name(trimmed[j])}` : name(trimmed[i]),
    );
    if (j - i === 1) parts.push(name(trimmed[j]));
    i = j;
  }
  return fence([`${parts.join(" ")}  (${trimmed.length} code points)`]);
}

/** The word list of the appendix, 8 words a line after the first's index. */
function wordlistBlock(): string {
  const lines = [];
  for (let at = 0; at < WORDS.length; at += 8) {
    const words = WORDS.slice(at, at + 8).map((w) => w.padEnd(8)).join("");
    lines.push(`${String(at).padStart(4)}  ${words.trimEnd()}`);
  }
  return fence(lines);
}

/**
 * The discovery packets of section 9: a query, the answer to it and an
 * announcement of the same server, with their fields apart.
 */
function discoveryBlock(): string {
  const fields = (bytes: Uint8Array, sizes: readonly number[]) => {
    const parts = [];
    let at = 0;
    for (const size of sizes) {
      parts.push(hex(bytes.subarray(at, at + size)));
      at += size;
    }
    check(at === bytes.length, "a discovery packet has other fields");
    return parts.join("  ");
  };
  const header = [4, 2, 1, 2, 4];
  const answer = { tag: 4071, nonce: 0x01020304, id: 0xa1b2c3d4, port: 65432 };
  return fence([
    "query (13 bytes): tag 4071, nonce 01 02 03 04",
    fields(encodeQuery({ tag: 4071, nonce: 0x01020304 }), header),
    "answer (20 bytes): that tag and nonce, server id a1 b2 c3 d4,",
    "TCP port 65432, flags 3 (TLS, SHARES)",
    fields(
      encodeAnswer({ ...answer, flags: FLAG_TLS | FLAG_SHARES }),
      [...header, 4, 2, 1],
    ),
    "announcement (20 bytes) of the same server: nonce 0, flags 0",
    fields(
      encodeAnswer({ ...answer, nonce: 0, flags: 0 }),
      [...header, 4, 2, 1],
    ),
  ]);
}

/**
 * The compressed data frame of 6.4, as zstd 1.5 wrote it at level 1 with
 * the size pledged. It is fixed here rather than compressed anew, since
 * another zstd may compress differently: what must not change is what it
 * decompresses to.
 */
const COMPRESSED_EXAMPLE = bytesOf(
  "28b52ffd20680d0100d047455420" + "2f70686f746f732f62656163682e6a7067" +
    "203230300a01006ea3730c",
);
const COMPRESSED_LINE = "GET /photos/beach.jpg 200\n";

/** The compressed data frame of 6.4, its fields named, and its content. */
function compressedBlock(): string {
  const frame = COMPRESSED_EXAMPLE;
  const content = decompressFrame(frame);
  check(
    equal(content, new TextEncoder().encode(COMPRESSED_LINE.repeat(4))),
    "the compressed example decompresses to its four lines",
  );
  check(compressedContentSize(frame) === content.length, "its declared size");
  check(frame[4] === 0x20, "a single-segment frame with a 1-byte size");
  const blockHeader = frame[6] | frame[7] << 8 | frame[8] << 16;
  const blockSize = blockHeader >> 3;
  check(
    (blockHeader & 7) === 5 && 9 + blockSize === frame.length,
    "one compressed block, the last",
  );
  const at = 52;
  return fence([
    note("04", at, "type 4 = compressed data"),
    note(hex(frame.subarray(0, 4)), at, "zstd magic number"),
    note(
      hex(frame.subarray(4, 5)),
      at,
      "descriptor: Single_Segment, 1-byte content size",
    ),
    note(hex(frame.subarray(5, 6)), at, `content size: ${content.length}`),
    note(
      hex(frame.subarray(6, 9)),
      at,
      `block header: last, compressed, ${blockSize} bytes`,
    ),
    ...hexLines(frame.subarray(9), 16).map((text, i) =>
      i === 0 ? note(text, at, `the block (${blockSize} bytes)`) : text
    ),
    `decompresses to ${content.length} bytes: ${
      JSON.stringify(COMPRESSED_LINE)
    } 4 times`,
  ]);
}

/** The record test vectors of 8.3, with the key 00 01 ... 1f. */
function recordBlocks(done: Sent, out: Map<string, string>): void {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  const sealer = new RecordSealer(key);
  const first = seal(sealer, done);
  const second = seal(sealer, done);
  const empty = seal(new RecordSealer(key), {
    dir: "C>",
    type: FrameType.Data,
    payload: new Uint8Array(0),
  });
  const length = (r: typeof first) => `L = ${r.text.length + 16}`;
  out.set(
    "record-0",
    fence([
      note(hex(first.header), 52, length(first)),
      note(hex(first.text), 52, `ciphertext (${first.text.length} bytes)`),
      note(hex(first.tag), 52, "tag"),
    ]),
  );
  out.set(
    "record-1",
    fence([hex(second.header), hex(second.text), hex(second.tag)]),
  );
  out.set(
    "record-empty",
    fence([
      hex(empty.header),
      note(hex(empty.text), 52, "ciphertext of the type byte 02"),
      note(hex(empty.tag), 52, "tag"),
    ]),
  );
}

/**
 * The frames of 8.1, from the frames of a real session; returns the frame
 * of the `done` message.
 */
function frameBlocks(frames: readonly Sent[], out: Map<string, string>): Sent {
  const hello = (role: Role, flags: number, comment: string) =>
    note(
      hex(encodeHello(role, flags)),
      28,
      `"DFTP", version ${PROTOCOL_VERSION}, ${comment}`,
    );
  out.set(
    "hellos",
    fence([
      hello(Role.Client, 0, "role 1 (client), flags 0"),
      hello(Role.Server, 0, "role 2 (server), flags 0"),
      hello(
        Role.Client,
        HELLO_FLAG_SERVER_SENDS,
        "role 1 (client), flags 2 (SERVER_SENDS)",
      ),
      hello(
        Role.Server,
        HELLO_FLAG_SERVER_SENDS,
        "role 2 (server), flags 2 (SERVER_SENDS)",
      ),
    ]),
  );
  out.set(
    "hello-busy",
    fence([
      hello(
        Role.Server,
        HELLO_FLAG_BUSY,
        "role 2 (server), flags 1 (BUSY)",
      ),
    ]),
  );
  const header = (length: number, what: string, comment: string) =>
    note(`${hex(handshakeHeader(length))} ‖ ${what}`, 40, comment);
  out.set(
    "handshake-headers",
    fence([
      header(SHARE_LENGTH, "pA (65 bytes)", "client → server, 70 bytes"),
      header(
        SHARE_LENGTH + CONFIRMATION_LENGTH,
        "pB ‖ cB (65 + 32)",
        "server → client, 102 bytes",
      ),
      header(CONFIRMATION_LENGTH, "cA (32 bytes)", "client → server, 37 bytes"),
    ]),
  );
  const find = (what: string, test: (frame: Sent) => boolean) => {
    const frame = frames.find(test);
    check(frame !== undefined, `the session of 8.4 has no ${what}`);
    return frame!;
  };
  const done = find("done", (f) => decoder.decode(f.payload) === DONE);
  const file = find(
    "file message",
    (f) => decoder.decode(f.payload).startsWith('{"type":"file"'),
  );
  const data = find("data frame", (f) => f.type === FrameType.Data);
  out.set(
    "plaintext-done",
    fence([
      note("01", 49, "type 1 = control"),
      note(hex(done.payload), 49, decoder.decode(done.payload)),
    ]),
  );
  out.set("plaintext-file", fence(["01", ...hexLines(file.payload, 25)]));
  out.set("plaintext-data", fence([`02 ${hex(data.payload)}`]));
  return done;
}

/**
 * Every vector block of the document, by name, as it appears between its
 * markers.
 */
export async function computeVectors(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  out.set("p256", curveBlock());
  out.set("whitespace", whitespaceBlock());
  const sessions = await runSessions(codeToScalar(EXAMPLE_CODE));
  const kx = keyExchange();
  const done = frameBlocks(sessions.photos, out);
  keyExchangeBlocks(kx, out);
  wireBlocks(kx, sessions.empty, out);
  recordBlocks(done, out);
  await batchBlocks(out);
  out.set(
    "transcript",
    fence(transcript(sessions.photos, { handshake: true })),
  );
  const error = sessions.violation.filter((frame) =>
    frame.dir === "S>" && decoder.decode(frame.payload).includes('"error"')
  );
  out.set("violation", fence(transcript(error, { closes: false })));
  out.set("resume", fence(transcript(sessions.resume)));
  out.set(
    "download",
    fence(
      transcript(sessions.download, { handshake: true, serverSends: true }),
    ),
  );
  out.set("discovery", discoveryBlock());
  out.set("compressed-frame", compressedBlock());
  out.set("wordlist", wordlistBlock());
  return out;
}

const MARKER =
  /^( *)<!-- vector ([\w-]+) -->\n([\s\S]*?)\n *<!-- \/vector -->/gm;

/** The vector blocks of a document, by name. */
export function extractVectors(doc: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const [, , name, body] of doc.matchAll(MARKER)) {
    found.set(name, body.trim());
  }
  return found;
}

/**
 * A block with its white space runs made one space and table rules made
 * short, so that indentation and `deno fmt`'s alignment do not count.
 */
export function normalizeVector(text: string): string {
  return text.replace(/-{3,}/g, "---").replace(/[ \t]+/g, " ")
    .split("\n").map((line) => line.trim()).join("\n").trim();
}

/**
 * `doc` with each of its vector blocks replaced by `vectors`' one, indented
 * like its marker (inside a list item).
 */
export function replaceVectors(
  doc: string,
  vectors: ReadonlyMap<string, string>,
): string {
  return doc.replace(MARKER, (whole, indent: string, name: string) => {
    const body = vectors.get(name);
    if (body === undefined) return whole;
    const lines = [`<!-- vector ${name} -->`, "", body, "", "<!-- /vector -->"]
      .join("\n").split("\n");
    return lines.map((line) => line === "" ? "" : indent + line).join("\n");
  });
}

/** Where the specification is. */
export const DOC_PATH: string = new URL("../docs/PROTOCOL.md", import.meta.url)
  .pathname;

if (import.meta.main) {
  const vectors = await computeVectors();
  if (Deno.args.includes("--write")) {
    const doc = await Deno.readTextFile(DOC_PATH);
    await Deno.writeTextFile(DOC_PATH, replaceVectors(doc, vectors));
    const fmt = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", DOC_PATH],
    }).output();
    if (!fmt.success) throw new Error("deno fmt failed on the document");
    const missing = [...vectors.keys()].filter((name) =>
      !extractVectors(doc).has(name)
    );
    console.log(`Updated ${DOC_PATH}`);
    if (missing.length > 0) {
      console.log(`No place in the document for: ${missing.join(", ")}`);
    }
  } else {
    for (const [name, body] of vectors) {
      console.log(`<!-- vector ${name} -->\n\n${body}\n\n<!-- /vector -->\n`);
    }
  }
}
