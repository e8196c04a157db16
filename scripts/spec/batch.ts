/**
 * The batch frame of `docs/PROTOCOL.md` 8.3, made by the real writer: the
 * plaintext of one batch record and the record itself. Used by
 * `scripts/spec_vectors.ts`.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  encodeMessage,
  FRAME_HEADER_LENGTH,
  FrameType,
  writeFrameHeader,
} from "../../protocol.ts";
import { FrameWriter } from "../../lib/secure/frame_writer.ts";
import { RECORD_HEADER_LENGTH, RecordSealer } from "../../lib/secure/record.ts";
import { check, fence, hex, hexLines, note } from "./format.ts";

/**
 * The batch record of 8.3: the three frames of the 3-byte file `hi.txt`
 * packed by the real writer, and that record sealed with the test key at
 * counter 0.
 */
export async function batchBlocks(out: Map<string, string>): Promise<void> {
  const written: Uint8Array[] = [];
  const stream = {
    read: () => Promise.resolve(null),
    write: (data: Uint8Array) => {
      written.push(data.slice());
      return Promise.resolve(data.length);
    },
    close: () => {},
  };
  const writer = new FrameWriter(stream);
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  await writer.startSealing(new RecordSealer(key));
  const content = new TextEncoder().encode("hi\n");
  const sha256 = createHash("sha256").update(content).digest("hex");
  const frames: [FrameType, Uint8Array][] = [
    [FrameType.Control, encodeMessage({ type: "file", index: 0, offset: 0 })],
    [FrameType.Data, content],
    [FrameType.Control, encodeMessage({ type: "end", index: 0, sha256 })],
  ];
  for (const [type, payload] of frames) await writer.send(type, payload);
  await writer.flush();
  check(written.length === 1, "the batch is not one write");
  const record = written[0];
  const lines = [note("05", 52, "type: batch")];
  for (const [type, payload] of frames) {
    const header = new Uint8Array(FRAME_HEADER_LENGTH);
    writeFrameHeader(header, 0, type, payload.length);
    lines.push(
      note(
        hex(header),
        52,
        `${
          type === FrameType.Data ? "data" : "control"
        } frame, ${payload.length} bytes`,
      ),
      ...hexLines(payload, 16),
    );
  }
  out.set("plaintext-batch", fence(lines));
  const header = record.subarray(0, RECORD_HEADER_LENGTH);
  const length = new DataView(header.buffer, header.byteOffset).getUint32(0);
  check(record.length === RECORD_HEADER_LENGTH + length, "a second record");
  out.set(
    "record-batch",
    fence([
      note(hex(header), 52, `L = ${length}`),
      ...hexLines(record.subarray(RECORD_HEADER_LENGTH, record.length - 16)),
      note(hex(record.subarray(record.length - 16)), 52, "tag"),
    ]),
  );
}
