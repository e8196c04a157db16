/**
 * Hostile clients against the start of a connection: bad hellos, and key
 * exchanges broken at each step.
 *
 * The checks every case gets are in `hostile_harness.ts`.
 *
 * @module
 */

import { startServer, tempDir } from "./helpers.ts";
import { fileEntry, helloBytes, jsonBytes } from "./hostile_client.ts";
import { FrameType, PROTOCOL_VERSION, Role } from "../protocol.ts";
import { bytes, encoder, Harness } from "./hostile_harness.ts";

Deno.test("hostile: bad hellos", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);
  const hello = (bytes: Uint8Array, phrase: string) => () =>
    h.rejects({
      phrase,
      raw: true,
      reply: "hello-then-close",
      act: (c) => c.raw(bytes),
    });

  await h.step(
    t,
    "protocol version 99",
    hello(
      helloBytes({ version: 99 }),
      `Peer speaks protocol version 99, this program speaks version ${PROTOCOL_VERSION}`,
    ),
  );
  await h.step(
    t,
    "an HTTP request instead of a hello",
    hello(
      encoder.encode("GET / HTTP/1.1\r\n\r\n"),
      "Peer does not speak this file-transfer protocol (wrong magic bytes)",
    ),
  );
  await h.step(
    t,
    "the receiver role instead of the sender role",
    hello(
      helloBytes({ role: Role.Server }),
      "Peer is a server, expected the other side",
    ),
  );
  await h.step(
    t,
    "an unknown role",
    hello(helloBytes({ role: 9 }), "Peer is an unknown role (9)"),
  );
  await h.step(
    t,
    "unknown hello flags",
    hello(helloBytes({ flags: 1 }), "Unknown hello flags 1 from peer"),
  );
  await h.step(t, "half a hello, then the end of the stream", () =>
    h.rejects({
      phrase: "Connection closed in the middle of the hello",
      raw: true,
      reply: "hello-then-close",
      act: async (c) => {
        await c.raw(helloBytes().subarray(0, 4));
        await c.closeWrite();
      },
    }));
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-hellos.txt"),
  );
});

Deno.test("hostile: broken key exchanges", async (t) => {
  // Its own server: the attempts that fail the key exchange make the guess
  // limiter hold back the next attempt from 127.0.0.1 (0.5 s after one
  // failure, doubling with each). Every case ends with a probe, which waits
  // for its turn, so the next case is not held back; a success erases no
  // failure, so the four failing cases cost 0.5 + 1 + 2 + 4 s. The
  // cases that fail before the key share, or after a complete exchange, do
  // not count and come first.
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);
  const manifest = (name: string) =>
    jsonBytes({ type: "manifest", entries: [fileEntry(name, 1)], more: false });
  // An uncompressed point (1, 1): well formed, but not on P-256.
  const offCurve = new Uint8Array(65);
  offCurve[0] = 0x04;
  offCurve[32] = 1;
  offCurve[64] = 1;

  await h.step(
    t,
    "the end of the stream instead of a key share",
    () =>
      h.rejects({
        phrase:
          "Connection closed during the handshake, before the client's key share",
        raw: true,
        reply: "close",
        act: async (c) => {
          await c.hello();
          await c.closeWrite();
        },
      }),
  );
  await h.step(t, "a control frame instead of the key share", () =>
    h.rejects({
      // Longer than a share, so refused from its header.
      phrase: "Frame of 109 bytes from peer where at most 65 fit",
      raw: true,
      reply: "close",
      absent: ["early.txt"],
      act: async (c) => {
        await c.hello();
        await c.frame(FrameType.Control, manifest("early.txt"));
      },
    }));
  for (const length of [0, 64, 66]) {
    await h.step(t, `a key share of ${length} bytes`, () =>
      h.rejects({
        // A longer frame is refused from its header, before it is read.
        phrase: length > 65
          ? `Frame of ${length} bytes from peer where at most 65 fit`
          : `Handshake message the client's key share has ${length} bytes, expected 65`,
        raw: true,
        reply: "close",
        act: async (c) => {
          await c.hello();
          await c.frame(FrameType.Handshake, bytes(length, 0x04));
        },
      }));
  }
  await h.step(t, "a handshake frame after the key exchange", () =>
    h.rejects({
      phrase: "Peer sent a handshake frame after the key exchange",
      act: (c) => c.frame(FrameType.Handshake, bytes(32)),
    }));

  // Refused before the server answers, so it could not test a guess, but
  // it cost the server curve work: it counts as a failed key exchange.
  await h.step(
    t,
    "a key share that is not a point on the curve",
    () =>
      h.rejects({
        phrase:
          "Invalid key share from client: Invalid PAKE share: not a point on P-256",
        raw: true,
        reply: "close",
        failsKeyExchange: true,
        act: async (c) => {
          await c.hello();
          await c.frame(FrameType.Handshake, offCurve);
        },
      }),
  );
  await h.step(
    t,
    "a control frame instead of the key confirmation",
    () =>
      h.rejects({
        // From here on each case got the server's answer, and so fails the
        // key exchange too. A control frame is longer than a confirmation.
        phrase: "where at most 32 fit",
        raw: true,
        reply: "close",
        failsKeyExchange: true,
        absent: ["unconfirmed.txt"],
        act: async (c) => {
          await c.hello();
          await c.exchangeShares();
          await c.frame(FrameType.Control, manifest("unconfirmed.txt"));
        },
      }),
  );
  await h.step(
    t,
    "the end of the stream before the key confirmation",
    () =>
      h.rejects({
        phrase:
          "Client left during key confirmation: it probably has the wrong code",
        raw: true,
        reply: "close",
        failsKeyExchange: true,
        act: async (c) => {
          await c.hello();
          await c.exchangeShares();
          await c.closeWrite();
        },
      }),
  );
  await h.step(t, "a wrong key confirmation", () =>
    h.rejects({
      phrase: "Client's key confirmation failed: wrong code",
      raw: true,
      reply: "close",
      failsKeyExchange: true,
      act: async (c) => {
        await c.hello();
        const keys = await c.exchangeShares();
        const wrong = keys.confirmation.slice();
        wrong[0] ^= 0x01;
        await c.frame(FrameType.Handshake, wrong);
      },
    }));
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-key-exchanges.txt"),
  );
});
