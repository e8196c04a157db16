/**
 * Hostile clients against the record layer: record lengths out of range,
 * truncated records, random, clear or tampered bytes, a replay, unknown
 * frame types.
 *
 * The checks every case gets are in `hostile_harness.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startServer, tempDir } from "./helpers.ts";
import { fileEntry, jsonBytes, rawFrame, rawRecord } from "./hostile_client.ts";
import { MAX_RECORD_BODY } from "../lib/secure/record.ts";
import { FrameType, MAX_FRAME_PAYLOAD } from "../protocol.ts";
import {
  bytes,
  encoder,
  Harness,
  offer,
  randomBytes,
} from "./hostile_harness.ts";

Deno.test("hostile: broken records", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);
  const outside = (length: number) =>
    `Record of ${length} bytes from peer is outside the allowed 17 to ${MAX_RECORD_BODY}`;
  const TAMPERED =
    "Record failed authentication: the connection was tampered with or corrupted";
  const manifest = (name: string, more = false) =>
    jsonBytes({ type: "manifest", entries: [fileEntry(name, 1)], more });

  await h.step(t, "record length field 0xFFFFFFFF", () =>
    h.rejects({
      phrase: outside(0xFFFFFFFF),
      act: (c) => c.raw(rawRecord(0xFFFFFFFF)),
    }));
  await h.step(t, "record length field MAX_RECORD_BODY + 1", () =>
    h.rejects({
      phrase: outside(MAX_RECORD_BODY + 1),
      act: (c) => c.raw(rawRecord(MAX_RECORD_BODY + 1)),
    }));
  await h.step(
    t,
    "a record of exactly MAX_RECORD_BODY (a full frame) is accepted",
    async () => {
      const client = await h.connect();
      await client.handshake();
      const base = JSON.stringify({
        type: "manifest",
        entries: [],
        more: false,
        pad: "",
      });
      const payload = encoder.encode(
        base.replace(
          '"pad":""',
          `"pad":"${"x".repeat(MAX_FRAME_PAYLOAD - base.length)}"`,
        ),
      );
      assert.equal(payload.length, MAX_FRAME_PAYLOAD);
      const record = await client.seal(FrameType.Control, payload);
      assert.equal(
        new DataView(record.buffer).getUint32(0),
        MAX_RECORD_BODY,
        "the length field is the limit",
      );
      await client.raw(record);
      assert.equal((await client.expect("decisions")).items.length, 0);
      await client.send({ type: "done" });
      await client.expect("summary");
    },
  );
  await h.step(
    t,
    "record length field 16, below the shortest record",
    () =>
      h.rejects({
        phrase: outside(16),
        act: (c) => c.raw(rawRecord(16, randomBytes(16))),
      }),
  );
  await h.step(t, "record length field 0", () =>
    h.rejects({
      phrase: outside(0),
      act: (c) => c.raw(rawRecord(0)),
    }));
  await h.step(
    t,
    "an empty control frame (the shortest record)",
    () =>
      h.rejects({
        phrase: "Malformed control message from peer (not JSON)",
        act: (c) => c.frame(FrameType.Control, new Uint8Array(0)),
      }),
  );
  await h.step(
    t,
    "a truncated record header, then the client hangs up",
    () =>
      h.rejects({
        phrase: "Connection closed in the middle of a record header",
        reply: "none",
        act: async (c) => {
          await c.raw(rawRecord(64).subarray(0, 2));
          c.close();
        },
      }),
  );
  await h.step(
    t,
    "a truncated record, then the client hangs up",
    () =>
      h.rejects({
        phrase: "Connection closed in the middle of a record",
        reply: "none",
        act: async (c) => {
          await c.raw(rawRecord(101, randomBytes(10)));
          c.close();
        },
      }),
  );
  await h.step(
    t,
    "a truncated data record in the middle of a file",
    () =>
      h.rejects({
        phrase: "Client left in the middle of a file; kept 40 B of 100 B",
        reply: "none",
        absent: ["cut.bin"],
        act: async (c) => {
          await offer(c, [fileEntry("cut.bin", 100)]);
          await c.send({ type: "file", index: 0, offset: 0 });
          await c.data(bytes(40));
          await h.waitForPartial("cut.bin", 40);
          const record = await c.seal(FrameType.Data, bytes(60));
          await c.raw(record.subarray(0, 30));
          c.close();
        },
      }),
  );
  await h.step(t, "random bytes with a valid record length", () =>
    h.rejects({
      phrase: TAMPERED,
      act: (c) => c.raw(rawRecord(64, randomBytes(64))),
    }));
  await h.step(t, "a clear frame after the key exchange", () =>
    h.rejects({
      phrase: TAMPERED,
      absent: ["clear.txt"],
      act: (c) => c.raw(rawFrame(FrameType.Control, manifest("clear.txt"))),
    }));
  await h.step(t, "a sealed record with one bit flipped", () =>
    h.rejects({
      phrase: TAMPERED,
      absent: ["flipped.txt"],
      act: async (c) => {
        const record = await c.seal(FrameType.Control, manifest("flipped.txt"));
        record[10] ^= 0x01;
        await c.raw(record);
      },
    }));
  await h.step(t, "a sealed record grown by one byte", () =>
    h.rejects({
      phrase: TAMPERED,
      absent: ["grown.txt"],
      act: async (c) => {
        const record = await c.seal(FrameType.Control, manifest("grown.txt"));
        const body = record.subarray(4);
        await c.raw(rawRecord(body.length + 1, Uint8Array.of(...body, 0)));
      },
    }));
  await h.step(t, "a sealed record sent twice (a replay)", () =>
    h.rejects({
      phrase: TAMPERED,
      absent: ["replayed.txt"],
      act: async (c) => {
        // The first copy is a valid manifest part; the second is stale.
        const record = await c.seal(
          FrameType.Control,
          manifest("replayed.txt", true),
        );
        await c.raw(record);
        await c.raw(record);
      },
    }));
  await h.step(
    t,
    "an unknown frame type byte in a sealed record",
    () =>
      h.rejects({
        phrase: "Unknown frame type 7 from peer",
        act: (c) => c.frame(7, jsonBytes({ type: "done" })),
      }),
  );
  await h.step(t, "frame type 0 in a sealed record", () =>
    h.rejects({
      phrase: "Unknown frame type 0 from peer",
      act: (c) => c.frame(0, new Uint8Array(0)),
    }));
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-records.txt"),
  );
});
