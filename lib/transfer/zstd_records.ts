/**
 * One record's zstd frame: made on the main thread or on the runtime's
 * pool, always a single frame that declares its size, and undone with its
 * output bounded by that size before anything is allocated.
 *
 * @module
 */

import {
  constants,
  zstdCompress,
  zstdCompressSync,
  zstdDecompressSync,
} from "node:zlib";
import {
  compressedContentSize,
  firstZstdFrame,
} from "../protocol/compressed.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";

/**
 * `bytes` as one zstd frame at `level` that declares its size, or null
 * when what zstd wrote is not one such frame.
 */
export function compressRecord(
  bytes: Uint8Array,
  level: number,
): Uint8Array | null {
  const options = compressOptions(bytes, level);
  return oneFrame(zstdCompressSync(bytes, options), options.chunkSize);
}

/**
 * {@link compressRecord} on a thread of the runtime's pool. Here node:zlib
 * joins its output chunks into a buffer of the output's size, so they can
 * be small (a chunk the size of the record would be garbage that only a
 * full collection frees); the empty frame it may write after the real one
 * is cut off.
 */
export function compressRecordAsync(
  bytes: Uint8Array,
  level: number,
): Promise<Uint8Array | null> {
  const options = {
    pledgedSrcSize: bytes.length,
    params: { [constants.ZSTD_c_compressionLevel]: level },
  };
  return new Promise((resolve, reject) => {
    zstdCompress(bytes, options, (error, written) => {
      if (error) {
        reject(error);
        return;
      }
      try {
        const { size, length } = firstZstdFrame(written);
        const frame = new Uint8Array(
          written.buffer,
          written.byteOffset,
          length,
        );
        resolve(size === bytes.length ? frame : null);
      } catch {
        resolve(null);
      }
    });
  });
}

/** The options that make zstd write `bytes` as one frame at `level`. */
function compressOptions(bytes: Uint8Array, level: number) {
  // Above zstd's bound for `bytes`: the frame fits the first output chunk.
  // With smaller chunks, node:zlib in Deno 2.9.6 wrote an empty frame
  // after the real one whenever the output passed a chunk's end.
  const chunkSize = bytes.length + (bytes.length >> 7) + 1024;
  // With the size pledged, the frame declares it (and its window fits
  // it); Deno's types of node:zlib do not list the option yet.
  return {
    pledgedSrcSize: bytes.length,
    chunkSize,
    params: { [constants.ZSTD_c_compressionLevel]: level },
  };
}

/**
 * What zstd `written` into its output chunk of `chunk` bytes, copied out
 * at its size, or null when it is not one frame that declares its size.
 */
function oneFrame(written: Uint8Array, chunk: number): Uint8Array | null {
  // Copied out at its size, into a plain Uint8Array rather than a node
  // Buffer (whose slice would be a view), and the chunk freed at once.
  const frame = new Uint8Array(written);
  if (written.byteOffset === 0 && written.buffer.byteLength === chunk) {
    (written.buffer as ArrayBuffer).transfer(0);
  }
  try {
    compressedContentSize(frame);
  } catch {
    return null;
  }
  return frame;
}

/**
 * The file bytes of a compressed data frame's `payload`: its zstd frame
 * checked, its declared size bounded, decompressed into no more than that.
 * Throws a {@link ProtocolError} that names the problem.
 */
export function decompressFrame(payload: Uint8Array): Uint8Array {
  const size = compressedContentSize(payload);
  let bytes;
  try {
    bytes = zstdDecompressSync(payload, {
      maxOutputLength: Math.max(1, size),
      // Room for all of it, and a byte, in the first output chunk: zstd
      // decodes in one pass, into memory of its own that the writer frees
      // once written (the byte keeps zlib from starting another chunk).
      chunkSize: Math.max(64, size + 1),
      // The window is where a decoder's memory goes: at most 1 MiB.
      params: { [constants.ZSTD_d_windowLogMax]: 20 },
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const reason = code === "ERR_BUFFER_TOO_LARGE"
      ? `decompresses to more than the ${size} bytes it declares`
      : `fails to decompress: ${
        String((error as Error).message).replace(/^Zstd decompress error: /, "")
      }`;
    throw new ProtocolError(`Compressed frame from peer ${reason}`);
  }
  if (bytes.length !== size) {
    throw new ProtocolError(
      `Compressed frame from peer decompresses to ${bytes.length} bytes, not the ${size} it declares`,
    );
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}
