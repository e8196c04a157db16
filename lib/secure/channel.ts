/**
 * The frame layer: a {@link Channel} sends and receives typed frames over a
 * byte stream (TCP or TLS). The transfer layer only ever talks to a channel,
 * never to the socket, so that encryption can sit between the two.
 *
 * @module
 */

import {
  BufferedReader,
  type ByteStream,
  ConnectionClosedError,
  INITIAL_BUFFER_SIZE,
} from "../net/byte_stream.ts";
import {
  FRAME_HEADER_LENGTH,
  FrameType,
  KEEP_ALIVE_MS,
  MAX_FRAME_PAYLOAD,
} from "../protocol/constants.ts";
import {
  batchedFrameEnd,
  checkBatch,
  checkFrameType,
  readFrameLength,
} from "../protocol/frame.ts";
import { encodeMessage } from "../protocol/messages.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { FrameWriter } from "./frame_writer.ts";
import { releaseBuffer } from "../common/release.ts";
import {
  readRecordLength,
  RECORD_HEADER_LENGTH,
  RecordOpener,
  TAG_LENGTH,
} from "./record.ts";

/** One received frame. */
export interface Frame {
  /** Control or data. */
  type: FrameType;
  /**
   * The payload: a view that is only valid until the next `receive`,
   * unless `detached`.
   */
  payload: Uint8Array;
  /** True when the payload is memory of its own, the receiver's to keep. */
  detached: boolean;
}

/** Sends and receives frames; implemented in the clear and encrypted. */
export interface Channel {
  /** Queues a frame; it goes out when the buffer fills or on `flush`. */
  send(type: FrameType, payload: Uint8Array): Promise<void>;
  /** Writes out everything queued. */
  flush(): Promise<void>;
  /** The next frame, or null when the peer closed cleanly between frames. */
  receive(): Promise<Frame | null>;
  /**
   * Whether bytes after the last frame received have already arrived, so
   * that the next `receive` does not start by waiting for the network.
   */
  hasBuffered(): boolean;
  /**
   * Milliseconds the frames sent so far waited for the stream to take the
   * bytes before them: how long the network or the peer held this side up.
   */
  stalledMs(): number;
  /** Closes the underlying stream; pending reads and writes fail. */
  close(): void;
}

/** What both channels share: the stream, its reader and its writer. */
abstract class FramedChannel implements Channel {
  /** The underlying stream. */
  protected readonly stream: ByteStream;
  /** Reads from the stream. */
  protected readonly reader: BufferedReader;
  /** Writes frames, in the clear or sealed, to the stream. */
  protected readonly writer: FrameWriter;

  /**
   * Frames over `stream`; `reader` and `writer` may carry bytes already
   * buffered during the hello.
   */
  constructor(stream: ByteStream, reader: BufferedReader, writer: FrameWriter) {
    this.stream = stream;
    this.reader = reader;
    this.writer = writer;
  }

  /** See {@link Channel.send}. */
  send(type: FrameType, payload: Uint8Array): Promise<void> {
    return this.writer.send(type, payload);
  }

  /** See {@link Channel.flush}. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** See {@link Channel.receive}. */
  abstract receive(): Promise<Frame | null>;

  /** See {@link Channel.hasBuffered}. */
  hasBuffered(): boolean {
    return this.reader.buffered > 0;
  }

  /** See {@link Channel.stalledMs}. */
  stalledMs(): number {
    return this.writer.stalledMs;
  }

  /** See {@link Channel.close}. */
  close(): void {
    try {
      this.stream.close();
    } catch {
      // Already closed: nothing left to release.
    }
  }
}

/** A channel that frames bytes in the clear, as the protocol's base layer. */
export class PlainChannel extends FramedChannel {
  /**
   * See {@link Channel.receive}; a frame whose payload is longer than
   * `limit` is refused before it is read.
   */
  async receive(limit = MAX_FRAME_PAYLOAD): Promise<Frame | null> {
    const header = await this.reader.readExact(
      FRAME_HEADER_LENGTH,
      "a frame header",
    );
    if (header === null) return null;
    const length = readFrameLength(header, 0);
    if (length > limit) {
      throw new ProtocolError(
        `Frame of ${length} bytes from peer where at most ${limit} fit`,
      );
    }
    const type = checkFrameType(header[4]);
    const payload = await this.reader.readExact(length, "a frame");
    if (payload === null) {
      throw new ConnectionClosedError(
        "Connection closed in the middle of a frame",
      );
    }
    return { type, payload, detached: false };
  }
}

/**
 * A channel whose frames travel as authenticated, encrypted records; the
 * writer must already seal with the matching `RecordSealer`.
 */
export class SecureChannel extends FramedChannel {
  #opener: RecordOpener;
  /**
   * The payload of the last batch received, freed once all its frames are
   * spent; they are handed out from {@link #next} one view at a time, so
   * that a batch's thousand small frames do not all outlive a collection.
   */
  #batch: Uint8Array | null = null;
  /** Where the next frame of that batch starts. */
  #next = 0;

  /** Reads records with `opener` and writes through the sealing `writer`. */
  constructor(
    stream: ByteStream,
    reader: BufferedReader,
    writer: FrameWriter,
    opener: RecordOpener,
  ) {
    super(stream, reader, writer);
    this.#opener = opener;
  }

  /** See {@link Channel.hasBuffered}. */
  override hasBuffered(): boolean {
    return (this.#batch !== null && this.#next < this.#batch.length) ||
      super.hasBuffered();
  }

  /**
   * See {@link Channel.receive}: the frames of a batch one by one, each a
   * view valid until the next call.
   */
  async receive(): Promise<Frame | null> {
    if (this.#batch !== null) {
      if (this.#next < this.#batch.length) return this.#batchedFrame();
      // Its frames were only valid until this call.
      releaseBuffer(this.#batch);
      this.#batch = null;
      this.#next = 0;
    }
    const view = await this.reader.readExact(
      RECORD_HEADER_LENGTH,
      "a record header",
    );
    if (view === null) return null;
    // The next read may move the buffer under this view.
    const header = view.slice();
    const length = readRecordLength(header);
    const frame = length > INITIAL_BUFFER_SIZE
      ? await this.#openInPieces(header, length)
      : this.#opener.open(header, await this.#body(length));
    if (frame.type === FrameType.Handshake) {
      throw new ProtocolError(
        "Peer sent a handshake frame after the key exchange",
      );
    }
    if (frame.type === FrameType.Batch) {
      // Checked whole before any of its frames is used.
      checkBatch(frame.payload);
      this.#batch = frame.payload;
      this.#next = 0;
      return this.#batchedFrame();
    }
    // Opening a record decrypts into new memory.
    return { ...frame, detached: true };
  }

  /** The next `length` bytes, the whole body of a record. */
  async #body(length: number): Promise<Uint8Array> {
    const body = await this.reader.readExact(length, "a record");
    if (body === null) {
      throw new ConnectionClosedError(
        "Connection closed in the middle of a record",
      );
    }
    return body;
  }

  /**
   * A large record decrypted as it arrives, through the reader's small
   * buffer: what a large record costs is its plain copy alone.
   */
  async #openInPieces(
    header: Uint8Array,
    length: number,
  ): Promise<{ type: FrameType; payload: Uint8Array }> {
    const record = this.#opener.openInPieces(header, length);
    for (let left = record.textLeft(); left > 0; left = record.textLeft()) {
      record.update(await this.reader.readSome(left, "a record"));
    }
    return record.finish(await this.#body(TAG_LENGTH));
  }

  /** The next frame of the batch in hand, a view into it. */
  #batchedFrame(): Frame {
    const batch = this.#batch!;
    const at = this.#next;
    const end = batchedFrameEnd(batch, at);
    this.#next = end;
    return {
      type: batch[at + 4] as FrameType,
      payload: batch.subarray(at + FRAME_HEADER_LENGTH, end),
      detached: false,
    };
  }
}

/**
 * Runs `work` while sending a `wait` message now and then, so that the
 * peer's idle timeout knows this side is busy (hashing), not gone.
 */
export async function whileBusy<T>(
  channel: Channel,
  work: () => Promise<T>,
): Promise<T> {
  const wait = encodeMessage({ type: "wait" });
  const timer = setInterval(() => {
    channel.send(FrameType.Control, wait)
      .then(() => channel.flush())
      .catch(() => {
        // The connection failed; the work's caller finds out soon enough.
      });
  }, KEEP_ALIVE_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
