/**
 * Hostile clients against batch frames: empty, cut, nested or holding a
 * handshake frame, a bad frame behind a good one, and a batch's frames
 * held to the session's rules like any other. A real server answers each
 * with one error line and goes on serving; a well-formed batch from a
 * hand-made client is taken as separate records would be.
 *
 * The checks every case gets are in `hostile_harness.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startServer, tempDir } from "./helpers.ts";
import { fileEntry, jsonBytes } from "./hostile_client.ts";
import {
  FRAME_HEADER_LENGTH,
  FrameType,
  type SenderMessage,
} from "../protocol.ts";
import { bytes, Harness, offer, sha256 } from "./hostile_harness.ts";
import { join } from "node:path";

/** Clear frames back to back, as a batch payload holds them. */
function pack(...frames: [number, Uint8Array][]): Uint8Array {
  const total = frames.reduce(
    (n, [, p]) => n + FRAME_HEADER_LENGTH + p.length,
    0,
  );
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const [type, payload] of frames) {
    view.setUint32(at, payload.length + 1);
    out[at + 4] = type;
    out.set(payload, at + FRAME_HEADER_LENGTH);
    at += FRAME_HEADER_LENGTH + payload.length;
  }
  return out;
}

/** A control frame of `message`, for {@link pack}. */
function control(message: SenderMessage): [number, Uint8Array] {
  return [FrameType.Control, jsonBytes(message)];
}

Deno.test("hostile: batch frames", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);
  const content = bytes(300, 0x62);

  await h.step(t, "a whole small file in one batch is saved", async () => {
    const client = await h.connect();
    await client.handshake();
    await offer(client, [fileEntry("batched.bin", content.length)]);
    await client.frame(
      FrameType.Batch,
      pack(
        control({ type: "file", index: 0, offset: 0 }),
        [FrameType.Data, content.subarray(0, 100)],
        [FrameType.Data, content.subarray(100)],
        control({ type: "end", index: 0, sha256: sha256(content) }),
        control({ type: "done" }),
      ),
    );
    assert.equal((await client.expect("verified")).index, 0);
    assert.equal((await client.expect("summary")).verified, 1);
    client.close();
    assert.deepEqual(
      await Deno.readFile(join(h.dest, "batched.bin")),
      content,
    );
  });
  await h.step(t, "an empty batch", () =>
    h.rejects({
      phrase: "Batch frame from peer holds no frame",
      act: (c) => c.frame(FrameType.Batch, new Uint8Array(0)),
    }));
  await h.step(t, "a batch cut in a frame header", () =>
    h.rejects({
      phrase:
        "Batch frame from peer ends in the middle of a frame header at byte 0",
      act: (c) => c.frame(FrameType.Batch, Uint8Array.of(0, 0, 1)),
    }));
  await h.step(
    t,
    "a frame that runs past the end of its batch",
    () =>
      h.rejects({
        phrase:
          "Frame of 99 bytes at byte 0 runs past the end of the batch from peer (12 bytes)",
        act: (c) =>
          c.frame(
            FrameType.Batch,
            Uint8Array.of(0, 0, 0, 100, 1, 0x7b, 0x7d, 0, 0, 0, 0, 0),
          ),
      }),
  );
  await h.step(t, "a frame of length 0 in a batch", () =>
    h.rejects({
      phrase: "Frame with length 0 in a batch from peer at byte 0",
      act: (c) => c.frame(FrameType.Batch, new Uint8Array(5)),
    }));
  await h.step(t, "a batch in a batch", () =>
    h.rejects({
      phrase: "Batch frame from peer holds a batch frame at byte 0",
      act: (c) =>
        c.frame(
          FrameType.Batch,
          pack([FrameType.Batch, pack(control({ type: "done" }))]),
        ),
    }));
  await h.step(t, "a handshake frame in a batch", () =>
    h.rejects({
      phrase: "Batch frame from peer holds a handshake frame at byte 0",
      act: (c) =>
        c.frame(FrameType.Batch, pack([FrameType.Handshake, bytes(65)])),
    }));
  await h.step(
    t,
    "a bad file message before a bad frame is never acted on",
    () =>
      // Acted on, the file message for entry 5 would fail first, with
      // its own text.
      h.rejects({
        phrase: "Unknown frame type 9 from peer",
        absent: ["never.bin"],
        act: async (c) => {
          await offer(c, [fileEntry("never.bin", 3)]);
          await c.frame(
            FrameType.Batch,
            pack(control({ type: "file", index: 5, offset: 0 }), [
              9,
              bytes(3),
            ]),
          );
        },
      }),
  );
  await h.step(t, "a batched data frame outside a file", () =>
    h.rejects({
      phrase: "Client sent file data outside a file",
      act: async (c) => {
        await offer(c, [fileEntry("outside.bin", 3)]);
        await c.frame(
          FrameType.Batch,
          pack([FrameType.Data, bytes(3)], control({ type: "done" })),
        );
      },
    }));
  await h.normalTransfer("after-batches.txt");
});
