/**
 * Hostile clients against the control messages: payloads that are not the
 * JSON objects the protocol allows, unknown types, and messages out of the
 * order of a session.
 *
 * The checks every case gets are in `hostile_harness.ts`.
 *
 * @module
 */

import { startServer, tempDir } from "./helpers.ts";
import { fileEntry, HostileClient } from "./hostile_client.ts";
import { FrameType } from "../protocol.ts";
import { bytes, encoder, Harness, offer } from "./hostile_harness.ts";

Deno.test("hostile: malformed control messages", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);
  const control = (text: string) => (c: HostileClient) =>
    c.frame(FrameType.Control, encoder.encode(text));

  await h.step(t, "not JSON", () =>
    h.rejects({
      phrase: "Malformed control message from peer (not JSON)",
      act: control('{"type": "manifest", '),
    }));
  await h.step(t, "invalid UTF-8", () =>
    h.rejects({
      phrase: "Malformed control message from peer (not JSON)",
      act: (c) =>
        c.frame(FrameType.Control, new Uint8Array([0x22, 0xff, 0xfe, 0x22])),
    }));
  await h.step(t, "a JSON array", () =>
    h.rejects({
      phrase: "Malformed control message from peer (not an object)",
      act: control('[{"type":"done"}]'),
    }));
  await h.step(t, "JSON null", () =>
    h.rejects({
      phrase: "Malformed control message from peer (not an object)",
      act: control("null"),
    }));
  await h.step(t, "an object without type", () =>
    h.rejects({
      phrase: "Missing field type in control message",
      act: control('{"entries":[],"more":false}'),
    }));
  await h.step(t, "a type that is not a string", () =>
    h.rejects({
      phrase: "Control message type is not a string",
      act: control('{"type":1}'),
    }));
  await h.step(t, "an unknown type", () =>
    h.rejects({
      phrase: 'Unknown control message type "\\u001b[2Jhack" from client',
      act: (c) => c.sendJson({ type: "\u001b[2Jhack" }),
    }));
  await h.step(t, "a data frame before the manifest", () =>
    h.rejects({
      phrase: "Client sent file data outside a file",
      act: (c) => c.data(bytes(16)),
    }));
  await h.step(t, "done before the manifest", () =>
    h.rejects({
      phrase: "Client sent a done message before its manifest",
      act: (c) => c.send({ type: "done" }),
    }));
  await h.step(t, "a second manifest", () =>
    h.rejects({
      phrase: "Client sent a second manifest",
      absent: ["first.txt", "second.txt"],
      act: async (c) => {
        await offer(c, [fileEntry("first.txt", 1)]);
        await c.send({
          type: "manifest",
          entries: [fileEntry("second.txt", 1)],
          more: false,
        });
      },
    }));
  await h.step(t, "an empty manifest part with more to come", () =>
    h.rejects({
      phrase: "Manifest part with no entries and more to come",
      act: (c) => c.send({ type: "manifest", entries: [], more: true }),
    }));
  await h.step(
    t,
    "a proof for a file whose decision asked for none",
    () =>
      h.rejects({
        phrase: "Client sent proofs out of order",
        absent: ["skipped.txt"],
        act: async (c) => {
          await offer(c, [fileEntry("skipped.txt", 1)]);
          await c.send({
            type: "proofs",
            items: [{ index: 0, sha256: "0".repeat(64) }],
            more: false,
          });
        },
      }),
  );
  await h.step(t, "a data frame between files", () =>
    h.rejects({
      phrase: "Client sent file data outside a file",
      absent: ["between.txt"],
      act: async (c) => {
        await offer(c, [fileEntry("between.txt", 1)]);
        await c.data(bytes(1));
      },
    }));
  await h.step(t, "a file message for an index out of range", () =>
    h.rejects({
      phrase: "Client sent a file for entry 5, which is not an expected file",
      act: async (c) => {
        await offer(c, [fileEntry("range.txt", 1)]);
        await c.send({ type: "file", index: 5, offset: 0 });
      },
    }));
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-messages.txt"),
  );
});
