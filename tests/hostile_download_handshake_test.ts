/**
 * A hostile sharing server against the start of a connection of
 * `client.ts --get`, as `hostile_handshake_test.ts` has a hostile client
 * against the server's: bad hellos, and key exchanges broken at each step
 * (the client checks the server's answer, where the server checks the
 * client's share and confirmation).
 *
 * The checks every case gets are in `hostile_download_harness.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { BufferedReader } from "../lib/net/byte_stream.ts";
import { establishChannel, newPake } from "../lib/secure/handshake.ts";
import { codeToScalar, SHARE_LENGTH } from "../lib/secure/pake.ts";
import { writeAll } from "../lib/common/write_all.ts";
import {
  encodeHello,
  FRAME_HEADER_LENGTH,
  FrameType,
  HELLO_FLAG_SERVER_SENDS,
  HELLO_LENGTH,
  PROTOCOL_VERSION,
  Role,
} from "../protocol.ts";
import { rawFrame, testCodeScalar } from "./hostile_client.ts";
import { bytes, encoder } from "./hostile_harness.ts";
import { assertRefused, Downloads } from "./hostile_download_harness.ts";
import { HostileSharer } from "./hostile_sharer.ts";

/** A sharing server's hello with any field replaced. */
function sharerHello(
  changes: { version?: number; role?: number; flags?: number } = {},
): Uint8Array {
  const hello = encodeHello(Role.Server, HELLO_FLAG_SERVER_SENDS);
  const view = new DataView(hello.buffer);
  if (changes.version !== undefined) view.setUint16(4, changes.version);
  if (changes.role !== undefined) hello[6] = changes.role;
  if (changes.flags !== undefined) hello[7] = changes.flags;
  return hello;
}

/**
 * Says a valid hello and reads the client's hello and key share; returns
 * the share.
 */
async function readShare(conn: Deno.Conn): Promise<Uint8Array> {
  await writeAll(conn, sharerHello());
  const reader = new BufferedReader(conn);
  const read = await reader.readExact(
    HELLO_LENGTH + FRAME_HEADER_LENGTH + SHARE_LENGTH,
    "the client's hello and key share",
  );
  if (read === null) throw new Error("No key share");
  return read.slice(HELLO_LENGTH + FRAME_HEADER_LENGTH);
}

/** Waits until the client hangs up. */
async function drain(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(1024);
  while ((await conn.read(buffer).catch(() => null)) !== null) {
    // What the client sends does not matter.
  }
}

/** Runs the client against a sharer that plays `raw` on its connection. */
async function getFromRaw(raw: (conn: Deno.Conn) => Promise<void>) {
  await using downloads = await Downloads.make();
  await using sharer = new HostileSharer({
    raw: async (conn) => {
      await raw(conn);
      await drain(conn);
    },
  });
  return await downloads.get(sharer.port);
}

Deno.test("hostile sharer: bad hellos", async (t) => {
  const cases: [string, Uint8Array, RegExp][] = [
    [
      "protocol version 99",
      sharerHello({ version: 99 }),
      new RegExp(
        `Peer speaks protocol version 99, this program speaks version ${PROTOCOL_VERSION}`,
      ),
    ],
    [
      "an HTTP answer instead of a hello",
      encoder.encode("HTTP/1.1 400 Bad Request\r\n\r\n"),
      /Peer does not speak this file-transfer protocol \(wrong magic bytes\)/,
    ],
    [
      "a TLS alert instead of a hello",
      Uint8Array.of(0x15, 3, 3, 0, 2, 2, 70, 0),
      /Peer speaks TLS, not this protocol in the clear/,
    ],
    [
      "the client role instead of the server role",
      sharerHello({ role: Role.Client }),
      /Peer is a client, expected the other side/,
    ],
    [
      "an unknown role",
      sharerHello({ role: 9 }),
      /Peer is an unknown role \(9\)/,
    ],
    [
      "unknown hello flags",
      sharerHello({ flags: HELLO_FLAG_SERVER_SENDS | 4 }),
      /Unknown hello flags 6 from peer/,
    ],
    [
      "half a hello, then the end of the stream",
      sharerHello().subarray(0, 4),
      /Server closed the connection before its hello: does it use TLS/,
    ],
  ];
  for (const [name, hello, phrase] of cases) {
    await t.step(name, async () => {
      const result = await getFromRaw(async (conn) => {
        await writeAll(conn, hello);
        if (hello.length < HELLO_LENGTH) await conn.closeWrite();
      });
      assertRefused(result, phrase);
    });
  }
});

Deno.test("hostile sharer: broken key exchanges", async (t) => {
  // An uncompressed point (1, 1): well formed, but not on P-256.
  const offCurve = new Uint8Array(SHARE_LENGTH);
  offCurve[0] = 0x04;
  offCurve[32] = 1;
  offCurve[64] = 1;
  const cases: [string, (conn: Deno.Conn) => Promise<void>, RegExp][] = [
    [
      "the end of the stream instead of a key share",
      async (conn) => {
        await readShare(conn);
        await conn.closeWrite();
      },
      /^client: Server closed the connection during the key exchange, before its key share$/,
    ],
    [
      "a control frame instead of the key share",
      async (conn) => {
        await readShare(conn);
        await writeAll(conn, rawFrame(FrameType.Control, bytes(40)));
      },
      /Expected the server's key share in a handshake frame/,
    ],
    [
      "a key share and confirmation of 64 bytes",
      async (conn) => {
        await readShare(conn);
        await writeAll(conn, rawFrame(FrameType.Handshake, bytes(64, 4)));
      },
      /Handshake message the server's key share has 64 bytes, expected 97/,
    ],
    [
      "a frame longer than a key share and confirmation",
      async (conn) => {
        await readShare(conn);
        await writeAll(conn, rawFrame(FrameType.Handshake, bytes(200, 4)));
      },
      /Frame of 200 bytes from peer where at most 97 fit/,
    ],
    [
      "a key share that is not a point on the curve",
      async (conn) => {
        await readShare(conn);
        const answer = Uint8Array.of(...offCurve, ...bytes(32));
        await writeAll(conn, rawFrame(FrameType.Handshake, answer));
      },
      /Invalid key share from server: Invalid PAKE share: not a point on P-256/,
    ],
    [
      "a wrong key confirmation",
      async (conn) => {
        const share = await readShare(conn);
        const pake = newPake(Role.Server, testCodeScalar());
        const keys = pake.finish(share);
        const wrong = keys.confirmation.slice();
        wrong[0] ^= 0x01;
        const answer = Uint8Array.of(...pake.share, ...wrong);
        await writeAll(conn, rawFrame(FrameType.Handshake, answer));
      },
      /^client: Wrong code, or not the server you meant: check the code and address the server printed$/,
    ],
    [
      "a sharer with another code",
      async (conn) => {
        await establishChannel(conn, {
          role: Role.Server,
          password: codeToScalar("another-code-entirely"),
          flushBeforeBlocking: true,
          serverSends: true,
        }).catch(() => {});
      },
      /^client: Wrong code, or not the server you meant/,
    ],
  ];
  for (const [name, raw, phrase] of cases) {
    await t.step(name, async () => {
      assertRefused(await getFromRaw(raw), phrase);
    });
  }
});

Deno.test("hostile sharer: one that hangs up right after the key exchange is retried", async () => {
  await using downloads = await Downloads.make();
  await using sharer = new HostileSharer(async (s) => {
    if (s.index === 0) return;
    await s.send({ type: "manifest", entries: [], more: false });
    await s.expect("decisions");
    await s.send({ type: "done" });
    await s.readToEnd();
  });
  const result = await downloads.get(sharer.port, ["--retries", "1"]);
  assert.equal(result.client.code, 0, result.client.stderr);
  assert.match(
    result.client.stderr,
    /^connection lost: Server disconnected before sending a manifest; retrying in [\d.]+ s \(retry 1 of 1\)\n$/,
  );
  assert.equal(sharer.connections, 2);
});
