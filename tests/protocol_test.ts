import assert from "node:assert/strict";
import {
  checkManifest,
  checkRelativePath,
  decodeHello,
  decodeReceiverMessage,
  decodeSenderMessage,
  encodeHello,
  encodeMessage,
  type Entry,
  FrameType,
  HELLO_FLAG_BUSY,
  HELLO_LENGTH,
  MAX_FRAME_PAYLOAD,
  MAX_PATH_DEPTH,
  ProtocolError,
  quote,
  readFrameLength,
  Role,
  sanitize,
  writeFrameHeader,
} from "../protocol.ts";

Deno.test("hello: round trip, and every wrong field is named", () => {
  const hello = encodeHello(Role.Client);
  assert.equal(hello.length, HELLO_LENGTH);
  assert.deepEqual([...hello], [0x44, 0x46, 0x54, 0x50, 0, 4, 1, 0]);
  assert.deepEqual(decodeHello(hello, Role.Client), {
    version: 4,
    role: 1,
    busy: false,
    serverSends: false,
  });
  const busy = encodeHello(Role.Server, HELLO_FLAG_BUSY);
  assert.equal(decodeHello(busy, Role.Server).busy, true);
  // Only a server can be busy.
  assert.throws(
    () => decodeHello(encodeHello(Role.Client, 1), Role.Client),
    /Unknown hello flags 1/,
  );

  const version = hello.slice();
  version[5] = 3;
  assert.throws(
    () => decodeHello(version, Role.Client),
    /Peer speaks protocol version 3, this program speaks version 4/,
  );
  const tls = Uint8Array.of(0x15, 3, 3, 0, 2, 2, 40, 0);
  assert.throws(() => decodeHello(tls, Role.Client), /Peer speaks TLS/);
  const magic = new TextEncoder().encode("GET / HT");
  assert.throws(() => decodeHello(magic, Role.Client), /wrong magic/);
  assert.throws(() => decodeHello(hello, Role.Server), /Peer is a client/);
  const flags = hello.slice();
  flags[7] = 1;
  assert.throws(() => decodeHello(flags, Role.Client), /Unknown hello flags/);
});

Deno.test("frame header: length counts the type byte and is bounded", () => {
  const header = new Uint8Array(5);
  writeFrameHeader(header, 0, FrameType.Data, 300);
  assert.deepEqual([...header], [0, 0, 1, 45, 2]);
  assert.equal(readFrameLength(header, 0), 300);
  assert.throws(() => readFrameLength(new Uint8Array(5), 0), /length 0/);
  const huge = new Uint8Array([0xff, 0xff, 0xff, 0xff, 1]);
  assert.throws(() => readFrameLength(huge, 0), /exceeds the limit/);
  assert.throws(
    () => writeFrameHeader(header, 0, FrameType.Data, MAX_FRAME_PAYLOAD + 1),
    RangeError,
  );
});

Deno.test("relative paths: good ones pass, each bad kind is named", () => {
  for (
    const good of [
      "a",
      "a/b.txt",
      "données/résumé ü.txt",
      "..a",
      "a..b/c",
      "ab:c",
    ]
  ) {
    assert.equal(checkRelativePath(good), good);
  }
  const bad: [string, RegExp][] = [
    ["", /empty/],
    [".", /empty/],
    ["/etc/passwd", /absolute/],
    ["..", /\.\. component/],
    ["a/../../b", /\.\. component/],
    ["a/./b", /\. component/],
    ["a//b", /empty component/],
    ["a/", /empty component/],
    ["a\u0000b", /control character/],
    ["\u001b[31mred", /control character/],
    ["a\u009bb", /control character/],
    ["a\\b", /backslash/],
    ["C:/x", /drive letter/],
    ["c:x", /drive letter/],
    ["a/".repeat(2049), /longer than 4096 bytes/],
    ["x".repeat(256), /component longer than 255 bytes/],
  ];
  for (const [path, why] of bad) {
    assert.throws(() => checkRelativePath(path), (error: Error) => {
      assert.ok(error instanceof ProtocolError);
      assert.match(error.message, why);
      assert.equal(error.message, sanitize(error.message));
      return true;
    });
  }
});

function entry(path: string, kind: "file" | "folder" = "file"): Entry {
  return { path, kind, size: 0, mode: 0o644, mtime: 0 };
}

Deno.test("manifest: duplicates and entries below a file are refused", () => {
  checkManifest([entry("a", "folder"), entry("a/b")]);
  assert.throws(
    () => checkManifest([entry("a"), entry("a")]),
    /more than once/,
  );
  assert.throws(
    () => checkManifest([entry("a"), entry("a/b/c")]),
    /below a file/,
  );
});

function payload(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

Deno.test("client messages: valid ones decode, invalid fields are named", () => {
  const manifest = {
    type: "manifest",
    more: false,
    entries: [{
      path: "a.txt",
      kind: "file",
      size: 5,
      mode: 0o644,
      mtime: 1,
      extra: 1,
    }],
  };
  assert.deepEqual(decodeSenderMessage(payload(manifest)), {
    type: "manifest",
    more: false,
    entries: [{ path: "a.txt", kind: "file", size: 5, mode: 0o644, mtime: 1 }],
  });
  const withSize = (size: unknown) => ({
    ...manifest,
    entries: [{ ...manifest.entries[0], size }],
  });
  assert.throws(() => decodeSenderMessage(payload(withSize(-1))), /below 0/);
  assert.throws(
    () => decodeSenderMessage(payload(withSize(1.5))),
    /not an integer/,
  );
  assert.throws(
    () => decodeSenderMessage(payload(withSize("5"))),
    /not an integer/,
  );
  assert.throws(
    () => decodeSenderMessage(payload(withSize(2 ** 60))),
    /beyond the limit/,
  );
  assert.throws(
    () => decodeSenderMessage(new TextEncoder().encode("{nope")),
    /not JSON/,
  );
  assert.throws(() => decodeSenderMessage(payload([1])), /not an object/);
  assert.throws(
    () => decodeSenderMessage(payload({ type: "dance" })),
    /Unknown control message type "dance"/,
  );
  assert.throws(
    () => decodeSenderMessage(payload({ index: 1 })),
    /Missing field type/,
  );
  assert.throws(
    () => decodeSenderMessage(payload({ type: "end", index: 0, sha256: "AB" })),
    /not a lowercase hex SHA-256/,
  );
  assert.throws(
    () => decodeSenderMessage(new Uint8Array([0x22, 0xff, 0x22])),
    /not JSON/,
  );
});

Deno.test("server messages: decisions and confirmations round trip", () => {
  const decisions = {
    type: "decisions" as const,
    start: 0,
    more: false,
    items: [
      { action: "send" as const, offset: 0 },
      { action: "compare" as const, replace: false },
      { action: "accept" as const },
      { action: "refuse" as const, reason: "no" },
      { action: "refuse" as const, reason: "busy", later: true },
      { action: "send" as const, offset: 5 },
    ],
  };
  assert.deepEqual(decodeReceiverMessage(encodeMessage(decisions)), decisions);
  assert.throws(
    () =>
      decodeReceiverMessage(
        payload({
          ...decisions,
          items: [{ action: "refuse", reason: "x", later: 1 }],
        }),
      ),
    /later/,
  );
  // A hash of what the server holds is never sent, and never read.
  assert.deepEqual(
    decodeReceiverMessage(
      payload({
        ...decisions,
        items: [{ action: "compare", replace: true, sha256: "b".repeat(64) }],
      }),
    ),
    { ...decisions, items: [{ action: "compare", replace: true }] },
  );
  assert.throws(
    () =>
      decodeReceiverMessage(
        payload({ ...decisions, items: [{ action: "eat" }] }),
      ),
    /Unknown action/,
  );
});

Deno.test("proofs and matches round trip, and bad items are named", () => {
  const proofs = {
    type: "proofs" as const,
    items: [{ index: 0, sha256: "c".repeat(64) }, { index: 7, sha256: null }],
    more: false,
  };
  assert.deepEqual(decodeSenderMessage(encodeMessage(proofs)), proofs);
  assert.throws(
    () =>
      decodeSenderMessage(
        payload({ ...proofs, items: [{ index: 0, sha256: "ABC" }] }),
      ),
    /Field sha256 in proof 0 is not a lowercase hex SHA-256/,
  );
  assert.throws(
    () => decodeSenderMessage(payload({ ...proofs, items: [{ index: -1 }] })),
    /Field index in proof 0 is -1, below 0/,
  );
  const matches = {
    type: "matches" as const,
    items: [{ index: 3, match: true }, { index: 4, match: false }],
    more: true,
  };
  assert.deepEqual(decodeReceiverMessage(encodeMessage(matches)), matches);
  assert.throws(
    () =>
      decodeReceiverMessage(
        payload({ ...matches, items: [{ index: 3, match: "yes" }] }),
      ),
    /Field match in match 0 is not a boolean/,
  );
  assert.throws(
    () =>
      decodeSenderMessage(payload({ type: "skip", index: 0, reason: "same" })),
    /Unknown reason in skip message/,
  );
});

Deno.test("paths deeper than MAX_PATH_DEPTH are refused", () => {
  assert.equal(
    checkRelativePath(Array(MAX_PATH_DEPTH).fill("a").join("/")),
    Array(MAX_PATH_DEPTH).fill("a").join("/"),
  );
  assert.throws(
    () => checkRelativePath(Array(MAX_PATH_DEPTH + 1).fill("a").join("/")),
    /has more than 256 components/,
  );
});

Deno.test("a manifest is checked as it arrives, in any order", () => {
  const entry = (path: string, kind: "file" | "folder") => ({
    path,
    kind,
    size: 0,
    mode: 0o644,
    mtime: 0,
  });
  // A file that comes after what it would hold is caught as well.
  assert.throws(
    () => checkManifest([entry("a/b/c", "file"), entry("a", "file")]),
    /Manifest puts "a\/b\/c" below a file/,
  );
  assert.throws(
    () => checkManifest([entry("a", "file"), entry("a/b", "folder")]),
    /Manifest puts "a\/b" below a file/,
  );
  assert.throws(
    () => checkManifest([entry("x", "folder"), entry("x", "file")]),
    /Manifest lists "x" more than once/,
  );
  checkManifest([
    entry("a/b/c", "file"),
    entry("a/b", "folder"),
    entry("a", "folder"),
    entry("a/d", "file"),
  ]);
});

Deno.test("untrusted text is printed without control characters", () => {
  assert.equal(sanitize("a\u001b[2Jb\nc"), "a\\u001b[2Jb\\u000ac");
  assert.equal(quote('say "hi"'), '"say \\"hi\\""');
  assert.equal(quote("x".repeat(100)).length, 83);
});
