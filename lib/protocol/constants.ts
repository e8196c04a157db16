/**
 * The numbers of the wire format: the protocol version, the default port,
 * the hello's and the frame header's sizes, and the limits every peer
 * enforces on what arrives (compressed data included); and the two
 * byte-valued enums, roles and frame types. `docs/PROTOCOL.md` lists the
 * same values in its section 1.3.
 *
 * @module
 */

/** Version of the wire protocol; peers with another version refuse to talk. */
export const PROTOCOL_VERSION = 4;

/** Port the server listens on unless told otherwise. */
export const DEFAULT_PORT = 65432;

/** The four bytes every connection starts with, in both directions: "DFTP". */
export const MAGIC: Uint8Array = new Uint8Array([0x44, 0x46, 0x54, 0x50]);

/** Length in bytes of the hello each side sends first. */
export const HELLO_LENGTH = 8;

/**
 * Hello flag of a server at its limit of simultaneous connections: it
 * closes the connection right after this hello, and the client may try
 * again later.
 */
export const HELLO_FLAG_BUSY = 1;

/**
 * Hello flag of the way the files go: set by a server that shares files
 * (it sends them) and by a client that asks for files (it receives them);
 * clear on both when the client sends files to the server. Each side
 * checks that the other's hello says the same.
 */
export const HELLO_FLAG_SERVER_SENDS = 2;

/** Length in bytes of a frame header: a u32 length and a u8 frame type. */
export const FRAME_HEADER_LENGTH = 5;

/** Largest payload one frame may carry. */
export const MAX_FRAME_PAYLOAD: number = 1024 * 1024;

/** Bytes of a file the sender reads at once. */
export const DATA_CHUNK_SIZE: number = MAX_FRAME_PAYLOAD;

/**
 * Bytes of file data the sender puts in one data frame: a whole chunk, as
 * each record costs a fixed overhead to seal and open.
 */
export const DATA_FRAME_SIZE: number = DATA_CHUNK_SIZE;

/**
 * Most bytes one compressed data frame may decompress to: what one data
 * frame could carry.
 */
export const MAX_DECOMPRESSED_PAYLOAD: number = MAX_FRAME_PAYLOAD;

/**
 * The four bytes a compressed data frame's payload starts with: the magic
 * number of a zstd frame (RFC 8878), 0xFD2FB528 little-endian.
 */
export const ZSTD_MAGIC: Uint8Array = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd]);

/**
 * Most bytes of frames, headers included, the reference implementation
 * puts into one batch frame: small files travel many to a record, and the
 * receiver can start on a batch while the next one is sealed.
 */
export const BATCH_BYTES: number = 256 * 1024;

/**
 * How often a side that is busy hashing sends a `wait` message, so that
 * the other side's idle timeout (1 s at the least) does not drop it.
 */
export const KEEP_ALIVE_MS = 500;

/** Longest relative path, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 4096;

/** Longest single path component, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;

/**
 * Most components of one path: deep enough for any real tree, and it keeps
 * the folder work a path costs the server bounded.
 */
export const MAX_PATH_DEPTH = 256;

/** Most entries one manifest may hold. */
export const MAX_ENTRIES = 1_000_000;

/** Most bytes of manifest payload, over all its frames, per session. */
export const MAX_MANIFEST_BYTES: number = 128 * 1024 * 1024;

/** Largest file size the protocol accepts: 1 PiB. */
export const MAX_FILE_SIZE: number = 2 ** 50;

/** Longest free-text reason or error message, in characters. */
export const MAX_MESSAGE_CHARS = 1000;

/** Largest absolute mtime, in milliseconds: the range of a JavaScript Date. */
export const MAX_MTIME_MS = 8.64e15;

/**
 * Which end of the connection a peer is; sent in the hello. Which way the
 * files go is a flag of the hello ({@link HELLO_FLAG_SERVER_SENDS}).
 */
export const Role = {
  /** The side that connects. */
  Client: 1,
  /** The side that listens. */
  Server: 2,
} as const;

/** A peer role as carried in the hello. */
export type Role = typeof Role[keyof typeof Role];

/** The type byte of a frame. */
export const FrameType = {
  /** A control message: UTF-8 JSON object. */
  Control: 1,
  /** Raw bytes of the file currently being sent. */
  Data: 2,
  /** A key-exchange message; only before the channel is encrypted. */
  Handshake: 3,
  /**
   * Bytes of the file currently being sent, as one zstd frame: it
   * decompresses to what a data frame would carry.
   */
  Compressed: 4,
  /**
   * Several control and data frames in one record, each with the header of
   * a clear frame; only inside records.
   */
  Batch: 5,
} as const;

/** A frame type byte. */
export type FrameType = typeof FrameType[keyof typeof FrameType];
