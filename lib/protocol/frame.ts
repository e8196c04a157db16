/**
 * The frame header: a u32 length and a u8 type in front of every frame
 * sent in the clear, written and checked here.
 *
 * @module
 */

import { FrameType, MAX_FRAME_PAYLOAD } from "./constants.ts";
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
    type !== FrameType.Handshake && type !== FrameType.Compressed
  ) {
    throw new ProtocolError(`Unknown frame type ${type} from peer`);
  }
  return type;
}
