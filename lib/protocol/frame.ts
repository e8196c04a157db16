/**
 * The frame header: a u32 length and a u8 type in front of every frame
 * sent in the clear, written and checked here.
 *
 * @module
 */

import {
  FRAME_HEADER_LENGTH,
  FrameType,
  MAX_FRAME_PAYLOAD,
} from "./constants.ts";
import { ProtocolError } from "./protocol_error.ts";

/**
 * Writes a frame header for a frame of `type` with `payloadLength` bytes
 * into `target` at `offset`.
 */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  type: FrameType,
  payloadLength: number,
): void {
  if (payloadLength > MAX_FRAME_PAYLOAD) {
    throw new RangeError(`Frame payload of ${payloadLength} bytes is too big`);
  }
  new DataView(target.buffer, target.byteOffset).setUint32(
    offset,
    payloadLength + 1,
  );
  target[offset + 4] = type;
}

/**
 * Reads the length field of a frame header and returns the payload length,
 * after checking it against {@link MAX_FRAME_PAYLOAD}.
 */
export function readFrameLength(header: Uint8Array, offset: number): number {
  const length = new DataView(header.buffer, header.byteOffset).getUint32(
    offset,
  );
  if (length < 1) throw new ProtocolError("Frame with length 0 from peer");
  if (length - 1 > MAX_FRAME_PAYLOAD) {
    throw new ProtocolError(
      `Frame of ${
        length - 1
      } bytes from peer exceeds the limit of ${MAX_FRAME_PAYLOAD}`,
    );
  }
  return length - 1;
}

/** Checks a frame type byte received from the peer. */
export function checkFrameType(type: number): FrameType {
  if (
    type !== FrameType.Control && type !== FrameType.Data &&
    type !== FrameType.Handshake && type !== FrameType.Compressed &&
    type !== FrameType.Batch
  ) {
    throw new ProtocolError(`Unknown frame type ${type} from peer`);
  }
  return type;
}

/** One frame taken out of a batch: a view into the batch's payload. */
export interface BatchedFrame {
  /** Control or data. */
  type: FrameType;
  /** Its payload, within the batch's. */
  payload: Uint8Array;
}

/**
 * Checks a batch frame's `payload` whole, before any of its frames is
 * used: at least one frame, each control or data, filling the payload
 * exactly. Allocates nothing per frame, so that a batch of many small
 * files' frames is handed out one view at a time ({@link batchedFrameEnd})
 * rather than all at once: a batch of 256 KiB holds about a thousand.
 */
export function checkBatch(payload: Uint8Array): void {
  if (payload.length === 0) {
    throw new ProtocolError("Batch frame from peer holds no frame");
  }
  const view = new DataView(payload.buffer, payload.byteOffset);
  for (let at = 0; at < payload.length;) {
    if (payload.length - at < FRAME_HEADER_LENGTH) {
      throw new ProtocolError(
        `Batch frame from peer ends in the middle of a frame header at byte ${at}`,
      );
    }
    const length = view.getUint32(at);
    if (length < 1) {
      throw new ProtocolError(
        `Frame with length 0 in a batch from peer at byte ${at}`,
      );
    }
    const end = at + FRAME_HEADER_LENGTH - 1 + length;
    if (end > payload.length) {
      throw new ProtocolError(
        `Frame of ${
          length - 1
        } bytes at byte ${at} runs past the end of the batch from peer (${payload.length} bytes)`,
      );
    }
    const type = checkFrameType(payload[at + 4]);
    if (
      type !== FrameType.Control && type !== FrameType.Data &&
      type !== FrameType.Compressed
    ) {
      throw new ProtocolError(
        `Batch frame from peer holds a ${
          type === FrameType.Batch ? "batch" : "handshake"
        } frame at byte ${at}`,
      );
    }
    at = end;
  }
}

/**
 * Where the frame at byte `at` of a batch `payload` that passed
 * {@link checkBatch} ends: its type is the byte at `at + 4`, its payload
 * runs from `at + FRAME_HEADER_LENGTH` to the end.
 */
export function batchedFrameEnd(payload: Uint8Array, at: number): number {
  // By hand rather than through a DataView: one fewer object per frame.
  const length = ((payload[at] << 24) | (payload[at + 1] << 16) |
    (payload[at + 2] << 8) | payload[at + 3]) >>> 0;
  return at + FRAME_HEADER_LENGTH - 1 + length;
}

/**
 * The frames of a batch frame's `payload`, checked whole by
 * {@link checkBatch} first.
 */
export function unpackBatch(payload: Uint8Array): BatchedFrame[] {
  checkBatch(payload);
  const frames: BatchedFrame[] = [];
  for (let at = 0; at < payload.length;) {
    const end = batchedFrameEnd(payload, at);
    frames.push({
      type: payload[at + 4] as FrameType,
      payload: payload.subarray(at + FRAME_HEADER_LENGTH, end),
    });
    at = end;
  }
  return frames;
}
