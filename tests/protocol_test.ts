import assert from "node:assert/strict";
import {
  checkManifest,
  checkRelativePath,
  decodeClientMessage,
  decodeHello,
  decodeServerMessage,
  encodeHello,
  encodeMessage,
  type Entry,
  FrameType,
  HELLO_FLAG_BUSY,
  HELLO_LENGTH,
  MAX_FRAME_PAYLOAD,
  ProtocolError,
  quote,
  readFrameLength,
  Role,
  sanitize,
  writeFrameHeader,
} from "../protocol.ts";

Deno.test("hello: round trip, and every wrong field is named", () => {
  const hello = encodeHello(Role.Sender);
  assert.equal(hello.length, HELLO_LENGTH);
  assert.deepEqual([...hello], [0x44, 0x46, 0x54, 0x50, 0, 2, 1, 0]);
  assert.deepEqual(decodeHello(hello, Role.Sender), {
    version: 2,
    role: 1,
    busy: false,
  });
  const busy = encodeHello(Role.Receiver, HELLO_FLAG_BUSY);
  assert.equal(decodeHello(busy, Role.Receiver).busy, true);
  // Only a server can be busy.
  assert.throws(
    () => decodeHello(encodeHello(Role.Sender, 1), Role.Sender),
    /Unknown hello flags 1/,
  );

  const version = hello.slice();
  version[5] = 1;
  assert.throws(
    () => decodeHello(version, Role.Sender),
    /Peer speaks protocol version 1, this program speaks version 2/,
  );
  const tls = Uint8Array.of(0x15, 3, 3, 0, 2, 2, 40, 0);
  assert.throws(() => decodeHello(tls, Role.Sender), /Peer speaks TLS/);
  const magic = new TextEncoder().encode("GET / HT");
  assert.throws(() => decodeHello(magic, Role.Sender), /wrong magic/);
  assert.throws(() => decodeHello(hello, Role.Receiver), /Peer is a client/);
  const flags = hello.slice();
  flags[7] = 1;
  assert.throws(() => decodeHello(flags, Role.Sender), /Unknown hello flags/);
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
  assert.deepEqual(decodeClientMessage(payload(manifest)), {
    type: "manifest",
    more: false,
    entries: [{ path: "a.txt", kind: "file", size: 5, mode: 0o644, mtime: 1 }],
  });
  const withSize = (size: unknown) => ({
    ...manifest,
    entries: [{ ...manifest.entries[0], size }],
  });
  assert.throws(() => decodeClientMessage(payload(withSize(-1))), /below 0/);
  assert.throws(
    () => decodeClientMessage(payload(withSize(1.5))),
    /not an integer/,
  );
  assert.throws(
    () => decodeClientMessage(payload(withSize("5"))),
    /not an integer/,
  );
  assert.throws(
    () => decodeClientMessage(payload(withSize(2 ** 60))),
    /beyond the limit/,
  );
  assert.throws(
    () => decodeClientMessage(new TextEncoder().encode("{nope")),
    /not JSON/,
  );
  assert.throws(() => decodeClientMessage(payload([1])), /not an object/);
  assert.throws(
    () => decodeClientMessage(payload({ type: "dance" })),
    /Unknown control message type "dance"/,
  );
  assert.throws(
    () => decodeClientMessage(payload({ index: 1 })),
    /Missing field type/,
  );
  assert.throws(
    () => decodeClientMessage(payload({ type: "end", index: 0, sha256: "AB" })),
    /not a lowercase hex SHA-256/,
  );
  assert.throws(
    () => decodeClientMessage(new Uint8Array([0x22, 0xff, 0x22])),
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
      { action: "compare" as const, sha256: "a".repeat(64), replace: false },
      { action: "accept" as const },
      { action: "refuse" as const, reason: "no" },
      { action: "refuse" as const, reason: "busy", later: true },
      { action: "send" as const, offset: 5, sha256: "b".repeat(64) },
    ],
  };
  assert.deepEqual(decodeServerMessage(encodeMessage(decisions)), decisions);
  assert.throws(
    () =>
      decodeServerMessage(
        payload({
          ...decisions,
          items: [{ action: "refuse", reason: "x", later: 1 }],
        }),
      ),
    /later/,
  );
  assert.throws(
    () =>
      decodeServerMessage(
        payload({
          ...decisions,
          items: [{ action: "send", offset: 0, sha256: "b".repeat(64) }],
        }),
      ),
    /Hash of an empty prefix/,
  );
  assert.throws(
    () =>
      decodeServerMessage(
        payload({ ...decisions, items: [{ action: "eat" }] }),
      ),
    /Unknown action/,
  );
});

Deno.test("untrusted text is printed without control characters", () => {
  assert.equal(sanitize("a\u001b[2Jb\nc"), "a\\u001b[2Jb\\u000ac");
  assert.equal(quote('say "hi"'), '"say \\"hi\\""');
  assert.equal(quote("x".repeat(100)).length, 83);
});
