/**
 * A hostile sharing server against the record layer of `client.ts --get`,
 * as `hostile_records_test.ts` has a hostile client against the server's:
 * record lengths out of range (a frame too large among them), truncated
 * records, random, clear or tampered bytes, records replayed or sent out
 * of order, unknown frame types.
 *
 * The checks every case gets are in `hostile_download_harness.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileEntry, jsonBytes, rawFrame, rawRecord } from "./hostile_client.ts";
import { bytes, randomBytes } from "./hostile_harness.ts";
import { assertRefused, getFrom } from "./hostile_download_harness.ts";
import type { SharerSession } from "./hostile_sharer.ts";
import { MAX_RECORD_BODY } from "../lib/secure/record.ts";
import { FrameType, MAX_FRAME_PAYLOAD } from "../protocol.ts";

const TAMPERED =
  /Record failed authentication: the connection was tampered with or corrupted/;

/** The client's line for a record length outside the limits. */
function outside(length: number): RegExp {
  return new RegExp(
    `Record of ${length} bytes from peer is outside the allowed 17 to ${MAX_RECORD_BODY}`,
  );
}

/** A manifest part of one file `name`, as a control payload. */
function manifest(name: string, more = false): Uint8Array {
  return jsonBytes({ type: "manifest", entries: [fileEntry(name, 1)], more });
}

/** The sealed record of a manifest part, captured rather than sent. */
function sealed(s: SharerSession, name: string, more = false) {
  return s.capture(() => s.frame(FrameType.Control, manifest(name, more)));
}

Deno.test("hostile sharer: broken records", async (t) => {
  const cases: [string, (s: SharerSession) => Promise<void>, RegExp][] = [
    [
      "record length field 0xFFFFFFFF",
      (s) => s.raw(rawRecord(0xFFFFFFFF)),
      outside(0xFFFFFFFF),
    ],
    [
      "record length field MAX_RECORD_BODY + 1 (a frame too large)",
      (s) => s.raw(rawRecord(MAX_RECORD_BODY + 1)),
      outside(MAX_RECORD_BODY + 1),
    ],
    [
      "record length field 16, below the shortest record",
      (s) => s.raw(rawRecord(16, randomBytes(16))),
      outside(16),
    ],
    ["record length field 0", (s) => s.raw(rawRecord(0)), outside(0)],
    [
      "an empty control frame (the shortest record)",
      (s) => s.frame(FrameType.Control, new Uint8Array(0)),
      /Malformed control message from peer \(not JSON\)/,
    ],
    [
      "random bytes with a valid record length",
      (s) => s.raw(rawRecord(64, randomBytes(64))),
      TAMPERED,
    ],
    [
      "a clear frame after the key exchange",
      (s) => s.raw(rawFrame(FrameType.Control, manifest("clear.txt"))),
      TAMPERED,
    ],
    [
      "a sealed record with one bit flipped",
      async (s) => {
        const record = await sealed(s, "flipped.txt");
        record[10] ^= 0x01;
        await s.raw(record);
      },
      TAMPERED,
    ],
    [
      "a sealed record grown by one byte",
      async (s) => {
        const body = (await sealed(s, "grown.txt")).subarray(4);
        await s.raw(rawRecord(body.length + 1, Uint8Array.of(...body, 0)));
      },
      TAMPERED,
    ],
    [
      "a sealed record sent twice (a replay)",
      async (s) => {
        // The first copy is a valid manifest part; the second is stale.
        const record = await sealed(s, "replayed.txt", true);
        await s.raw(record);
        await s.raw(record);
      },
      TAMPERED,
    ],
    [
      "two sealed records sent in the other order",
      async (s) => {
        const first = await sealed(s, "first.txt", true);
        const second = await sealed(s, "second.txt");
        await s.raw(second);
        await s.raw(first);
      },
      TAMPERED,
    ],
    [
      "an unknown frame type byte in a sealed record",
      (s) => s.frame(7, jsonBytes({ type: "done" })),
      /Unknown frame type 7 from peer/,
    ],
    [
      "frame type 0 in a sealed record",
      (s) => s.frame(0, new Uint8Array(0)),
      /Unknown frame type 0 from peer/,
    ],
    [
      "a handshake frame after the key exchange",
      (s) => s.frame(FrameType.Handshake, bytes(32)),
      /Peer sent a handshake frame after the key exchange/,
    ],
  ];
  for (const [name, act, phrase] of cases) {
    await t.step(name, async () => {
      const result = await getFrom(async (s) => {
        await act(s);
        await s.readToEnd();
      });
      assertRefused(result, phrase);
      assert.deepEqual(result.staged, []);
    });
  }
});

Deno.test("hostile sharer: records cut short, before and during a file", async (t) => {
  const cases: [string, (s: SharerSession) => Promise<void>, RegExp][] = [
    [
      "a truncated record header, then the sharer hangs up",
      (s) => s.raw(rawRecord(64).subarray(0, 2)),
      /Connection closed in the middle of a record header/,
    ],
    [
      "a truncated record, then the sharer hangs up",
      (s) => s.raw(rawRecord(101, randomBytes(10))),
      /Connection closed in the middle of a record$/,
    ],
    [
      "a truncated data record in the middle of a file",
      async (s) => {
        await s.manifest([fileEntry("cut.bin", 100)]);
        await s.expect("decisions");
        await s.send({ type: "file", index: 0, offset: 0 });
        await s.data(bytes(40));
        const record = await s.capture(() => s.data(bytes(60)));
        await s.raw(record.subarray(0, 30));
      },
      /Server left in the middle of a file; kept 40 B of 100 B of "cut\.bin" for a resume/,
    ],
  ];
  for (const [name, act, phrase] of cases) {
    await t.step(name, async () => {
      // No retries: the client says why the one connection ended.
      const result = await getFrom(act);
      assertRefused(result, phrase);
    });
  }
});

Deno.test("hostile sharer: a record of exactly MAX_RECORD_BODY (a full frame) is taken", async () => {
  let length = 0;
  let summary: unknown;
  const result = await getFrom(async (s) => {
    const base = JSON.stringify({
      type: "manifest",
      entries: [],
      more: false,
      pad: "",
    });
    const payload = new TextEncoder().encode(
      base.replace(
        '"pad":""',
        `"pad":"${"x".repeat(MAX_FRAME_PAYLOAD - base.length)}"`,
      ),
    );
    assert.equal(payload.length, MAX_FRAME_PAYLOAD);
    const record = await s.capture(() => s.frame(FrameType.Control, payload));
    length = new DataView(record.buffer).getUint32(0);
    await s.raw(record);
    assert.deepEqual((await s.expect("decisions")).items, []);
    await s.send({ type: "done" });
    summary = (await s.readToEnd()).at(-1);
  });
  assert.equal(length, MAX_RECORD_BODY, "the length field is the limit");
  assert.equal(result.client.code, 0, result.client.stderr);
  assert.match(result.client.stdout, /0 of \d+ files received and verified/);
  assert.deepEqual(summary, { type: "summary", verified: 0, failed: 0 });
});
