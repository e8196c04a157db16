/**
 * The payload of a compressed data frame: exactly one zstd frame (RFC 8878)
 * that declares its decompressed size, checked from its header and block
 * headers before anything is decompressed, so that a receiver knows the
 * size of what it will get, and bounds it, before it allocates it.
 *
 * @module
 */

import { MAX_DECOMPRESSED_PAYLOAD, ZSTD_MAGIC } from "./constants.ts";
import { ProtocolError } from "./protocol_error.ts";

/** Bytes of a zstd block header. */
const BLOCK_HEADER_LENGTH = 3;

/** The zstd block types (RFC 8878, 3.1.1.2.2). */
const RAW_BLOCK = 0;
const RLE_BLOCK = 1;
const COMPRESSED_BLOCK = 2;

/** Bytes of the Frame_Content_Size field, by its flag, in a multi-segment frame. */
const CONTENT_SIZE_BYTES = [0, 2, 4, 8];

function refuse(reason: string): never {
  throw new ProtocolError(`Compressed frame from peer ${reason}`);
}

/** The little-endian unsigned integer of `length` bytes at `at`. */
function readLittleEndian(
  bytes: Uint8Array,
  at: number,
  length: number,
): number {
  let value = 0;
  for (let i = length - 1; i >= 0; i--) value = value * 256 + bytes[at + i];
  return value;
}

/**
 * Checks that `payload` is exactly one zstd frame, with no dictionary and
 * no bytes after it, that declares a decompressed size, and a window, of
 * at most {@link MAX_DECOMPRESSED_PAYLOAD}; returns that size. The blocks are
 * walked by their headers only: whether they decompress, and to the size
 * declared, is for the decompressor to tell.
 */
export function compressedContentSize(payload: Uint8Array): number {
  const { size, length } = firstZstdFrame(payload);
  if (length < payload.length) {
    refuse(`has ${payload.length - length} bytes after its zstd frame`);
  }
  return size;
}

/**
 * The decompressed size `payload`'s first zstd frame declares and the
 * bytes that frame takes, checked as {@link compressedContentSize} checks
 * it, but with anything allowed after it.
 */
export function firstZstdFrame(
  payload: Uint8Array,
): { size: number; length: number } {
  if (
    payload.length < ZSTD_MAGIC.length + 1 ||
    ZSTD_MAGIC.some((byte, i) => payload[i] !== byte)
  ) {
    refuse("is not a zstd frame");
  }
  const descriptor = payload[4];
  const sizeFlag = descriptor >> 6;
  const singleSegment = (descriptor & 0x20) !== 0;
  const checksum = (descriptor & 0x04) !== 0;
  if ((descriptor & 0x08) !== 0) refuse("is not a zstd frame");
  if ((descriptor & 0x03) !== 0) refuse("needs a zstd dictionary");
  const sizeBytes = sizeFlag === 0 && singleSegment
    ? 1
    : CONTENT_SIZE_BYTES[sizeFlag];
  if (sizeBytes === 0) refuse("does not declare its decompressed size");
  // No Dictionary_ID field: its flag is 0. A Window_Descriptor byte unless
  // single-segment, where the window is the content.
  let at = singleSegment ? 5 : 6;
  if (at + sizeBytes > payload.length) {
    refuse("ends in the middle of its zstd frame");
  }
  const size = readLittleEndian(payload, at, sizeBytes) +
    (sizeBytes === 2 ? 256 : 0);
  if (size > MAX_DECOMPRESSED_PAYLOAD) {
    refuse(
      `declares ${size} bytes, more than the limit of ${MAX_DECOMPRESSED_PAYLOAD}`,
    );
  }
  if (!singleSegment) {
    const base = 2 ** (10 + (payload[5] >> 3));
    const window = base + (base / 8) * (payload[5] & 7);
    if (window > MAX_DECOMPRESSED_PAYLOAD) {
      refuse(
        `asks for a window of ${window} bytes, more than the limit of ${MAX_DECOMPRESSED_PAYLOAD}`,
      );
    }
  }
  at += sizeBytes;
  for (let last = false; !last;) {
    if (at + BLOCK_HEADER_LENGTH > payload.length) {
      refuse("ends in the middle of its zstd frame");
    }
    const header = readLittleEndian(payload, at, BLOCK_HEADER_LENGTH);
    last = (header & 1) === 1;
    const type = (header >> 1) & 3;
    const blockSize = header >>> 3;
    if (
      type !== RAW_BLOCK && type !== RLE_BLOCK && type !== COMPRESSED_BLOCK
    ) {
      refuse("has a zstd block of the reserved type");
    }
    at += BLOCK_HEADER_LENGTH + (type === RLE_BLOCK ? 1 : blockSize);
  }
  if (checksum) at += 4;
  if (at > payload.length) refuse("ends in the middle of its zstd frame");
  return { size, length: at };
}
