/**
 * A hostile sharing server's control messages against `client.ts --get`,
 * as `hostile_messages_test.ts` has a hostile client's against the server:
 * payloads that are not the JSON objects the protocol allows, unknown
 * types (a receiver's among them), and messages out of the order of a
 * session, its proofs included.
 *
 * The checks every case gets are in `hostile_download_harness.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileEntry } from "./hostile_client.ts";
import { bytes, encoder, sha256 } from "./hostile_harness.ts";
import { assertRefused, getFrom } from "./hostile_download_harness.ts";
import type { SharerSession } from "./hostile_sharer.ts";
import { FrameType } from "../protocol.ts";

/** One case: what the sharer does, and the client's line. */
type Case = [string, (s: SharerSession) => Promise<void>, RegExp];

/** Offers one file of one byte and reads the decisions. */
async function offered(s: SharerSession, name = "x.txt"): Promise<void> {
  await s.manifest([fileEntry(name, 1)]);
  await s.expect("decisions");
}

/** Sends `text` as the payload of a control frame. */
function control(text: string) {
  return (s: SharerSession) => s.frame(FrameType.Control, encoder.encode(text));
}

Deno.test("hostile sharer: malformed control messages", async (t) => {
  const cases: Case[] = [
    [
      "not JSON",
      control('{"type": "manifest", '),
      /Malformed control message from peer \(not JSON\)/,
    ],
    [
      "invalid UTF-8",
      (s) => s.frame(FrameType.Control, new Uint8Array([0x22, 0xff, 0x22])),
      /Malformed control message from peer \(not JSON\)/,
    ],
    [
      "a JSON array",
      control('[{"type":"done"}]'),
      /Malformed control message from peer \(not an object\)/,
    ],
    [
      "JSON null",
      control("null"),
      /Malformed control message from peer \(not an object\)/,
    ],
    [
      "an object without type",
      control('{"entries":[],"more":false}'),
      /Missing field type in control message/,
    ],
    [
      "a type that is not a string",
      control('{"type":1}'),
      /Control message type is not a string/,
    ],
    [
      "an unknown type, shown escaped",
      (s) => s.send({ type: "\u001b[2Jhack" }),
      /Unknown control message type "\\u001b\[2Jhack" from server$/,
    ],
    [
      "a receiver's message type",
      (s) => s.send({ type: "decisions", start: 0, items: [], more: false }),
      /Unknown control message type "decisions" from server$/,
    ],
    [
      "an error message with escapes in it",
      (s) => s.send({ type: "error", message: "no\u001b[31m way\nout" }),
      /^client: Server error: no\\u001b\[31m way\\u000aout$/,
    ],
  ];
  for (const [name, act, phrase] of cases) {
    await t.step(name, async () => {
      const result = await getFrom(async (s) => {
        await act(s);
        await s.readToEnd();
      });
      assertRefused(result, phrase);
    });
  }
});

Deno.test("hostile sharer: messages out of the order of a session", async (t) => {
  const cases: Case[] = [
    [
      "a data frame before the manifest",
      (s) => s.data(bytes(16)),
      /Server sent file data outside a file/,
    ],
    [
      "done before the manifest",
      (s) => s.send({ type: "done" }),
      /Server sent a done message before its manifest/,
    ],
    [
      "a file message before the manifest",
      (s) => s.send({ type: "file", index: 0, offset: 0 }),
      /Server sent a file message before its manifest/,
    ],
    [
      "a second manifest",
      async (s) => {
        await offered(s, "first.txt");
        await s.manifest([fileEntry("second.txt", 1)]);
      },
      /Server sent a second manifest/,
    ],
    [
      "an empty manifest part with more to come",
      (s) => s.send({ type: "manifest", entries: [], more: true }),
      /Manifest part with no entries and more to come/,
    ],
    [
      "a proof that no decision asked for",
      async (s) => {
        await offered(s, "skipped.txt");
        await s.send({
          type: "proofs",
          items: [{ index: 0, sha256: "0".repeat(64) }],
          more: false,
        });
      },
      /Server sent proofs out of order/,
    ],
    [
      "a data frame between files",
      async (s) => {
        await offered(s, "between.txt");
        await s.data(bytes(1));
      },
      /Server sent file data outside a file/,
    ],
    [
      "a file message for an index out of range",
      async (s) => {
        await offered(s, "range.txt");
        await s.send({ type: "file", index: 5, offset: 0 });
      },
      /Server sent a file for entry 5, which is not an expected file/,
    ],
  ];
  for (const [name, act, phrase] of cases) {
    await t.step(name, async () => {
      const result = await getFrom(async (s) => {
        await act(s);
        await s.readToEnd();
      });
      assertRefused(result, phrase);
    });
  }
});

Deno.test("hostile sharer: a file sent twice ends the session, and the first copy stays verified", async () => {
  const result = await getFrom(async (s) => {
    await offered(s, "twice.txt");
    for (let i = 0; i < 2; i++) {
      await s.send({ type: "file", index: 0, offset: 0 });
      await s.data(bytes(1));
      await s.send({ type: "end", index: 0, sha256: sha256(bytes(1)) });
    }
    await s.readToEnd();
  });
  assert.equal(result.client.code, 1);
  assert.match(
    result.client.stderr,
    /^client: Server sent a file for entry 0, which is not an expected file\n$/,
  );
  assert.deepEqual(result.added, ["twice.txt"]);
  assert.deepEqual(result.staged, []);
  assert.deepEqual(result.outside, []);
});

Deno.test("hostile sharer: proofs that do not answer what the client asked", async (t) => {
  // The client has both files, so it asks for a proof of each.
  const prepare = async (dir: string) => {
    await Deno.writeTextFile(join(dir, "a.txt"), "a");
    await Deno.writeTextFile(join(dir, "b.txt"), "b");
  };
  const proof = (index: number, text: string) => ({
    index,
    sha256: sha256(encoder.encode(text)),
  });
  const cases: [string, unknown[], RegExp][] = [
    [
      "a file message instead of the proofs",
      [{ type: "file", index: 0, offset: 0 }],
      /Server sent a file message instead of its proofs/,
    ],
    [
      "a proof for an entry not asked about",
      [{ type: "proofs", items: [proof(2, "c")], more: false }],
      /Server sent a proof for entry 2, whose decision asked for none/,
    ],
    [
      "a second proof for one entry",
      [{ type: "proofs", items: [proof(0, "a"), proof(0, "a")], more: false }],
      /Server sent a second proof for entry 0/,
    ],
    [
      "a proofs part with no items and more to come",
      [{ type: "proofs", items: [], more: true }],
      /Proofs part with no items and more to come/,
    ],
    [
      "one proof missing",
      [{ type: "proofs", items: [proof(0, "a")], more: false }],
      /Server sent no proof for 1 entries/,
    ],
  ];
  for (const [name, messages, phrase] of cases) {
    await t.step(name, async () => {
      const result = await getFrom(async (s) => {
        await s.manifest([
          fileEntry("a.txt", 1),
          fileEntry("b.txt", 1),
          fileEntry("c.txt", 1),
        ]);
        const decisions = await s.expect("decisions");
        assert.deepEqual(decisions.items.map((d) => d.action), [
          "compare",
          "compare",
          "send",
        ]);
        for (const message of messages) {
          await s.send(message as Record<string, unknown>);
        }
        await s.readToEnd();
      }, prepare);
      assertRefused(result, phrase);
    });
  }
});
