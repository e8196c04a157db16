/**
 * The frame layer: a {@link Channel} sends and receives typed frames over a
 * byte stream (TCP or TLS). The transfer layer only ever talks to a channel,
 * never to the socket, so that encryption can sit between the two.
 *
 * @module
 */

import {
  FRAME_HEADER_LENGTH,
  FrameType,
  KEEP_ALIVE_MS,
  MAX_FRAME_PAYLOAD,
} from "../protocol/constants.ts";
import {
  checkFrameType,
  readFrameLength,
  writeFrameHeader,
} from "../protocol/frame.ts";
import { encodeMessage } from "../protocol/messages.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import {
  readRecordLength,
  RECORD_HEADER_LENGTH,
  RecordOpener,
  type RecordSealer,
  TAG_LENGTH,
} from "./record.ts";
import { releaseBuffer } from "../common/release.ts";
import { writeAll } from "../common/write_all.ts";

/** The part of `Deno.Conn` the channel needs. */
export interface ByteStream {
  /** Reads into `buffer`; resolves to the count read, or null at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of `data`; resolves to the count written. */
  write(data: Uint8Array): Promise<number>;
  /** Closes the stream. */
  close(): void;
}

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
  /** Closes the underlying stream; pending reads and writes fail. */
  close(): void;
}

/** Raised when the peer closes the connection in the middle of something. */
export class ConnectionClosedError extends Error {
  /** Creates the error; `message` says what was cut short. */
  constructor(message = "Connection closed by peer") {
    super(message);
    this.name = "ConnectionClosedError";
  }
}

const READ_BUFFER_SIZE = 2 * (MAX_FRAME_PAYLOAD + FRAME_HEADER_LENGTH);
// Buffers start small and grow to full size on first need, so that a
// connection that never gets past the key exchange costs little memory.
const INITIAL_BUFFER_SIZE = 64 * 1024;
// Room for the largest frame or record, so that every frame is one copy.
const WRITE_BUFFER_SIZE = MAX_FRAME_PAYLOAD + 64 * 1024;
// Sealed frames at least this large skip the batch buffer: copying them
// would cost more than the extra writes.
const SEAL_APART_SIZE = 64 * 1024;

/**
 * Reads exact byte counts from a stream through one large reused buffer, so
 * that a frame costs no allocation and no copy.
 */
export class BufferedReader {
  #stream: ByteStream;
  #buffer = new Uint8Array(INITIAL_BUFFER_SIZE);
  #start = 0;
  #end = 0;
  #beforeBlocking: () => Promise<void>;

  /**
   * Reads from `stream`; `beforeBlocking` runs whenever the buffer is empty
   * and the reader is about to wait for the network.
   */
  constructor(
    stream: ByteStream,
    beforeBlocking: () => Promise<void> = () => Promise.resolve(),
  ) {
    this.#stream = stream;
    this.#beforeBlocking = beforeBlocking;
  }

  /** Bytes read from the stream and not yet taken. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Exactly `length` bytes, as a view valid until the next call; null when
   * the stream ends before the first of them, and an error when it ends
   * after some of them.
   */
  async readExact(length: number, what: string): Promise<Uint8Array | null> {
    if (length > READ_BUFFER_SIZE) {
      throw new RangeError(`Cannot buffer ${length} bytes`);
    }
    if (length > this.#buffer.length) {
      const grown = new Uint8Array(READ_BUFFER_SIZE);
      grown.set(this.#buffer.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#buffer = grown;
    }
    if (this.#buffer.length - this.#start < length) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    while (this.#end - this.#start < length) {
      await this.#beforeBlocking();
      const count = await this.#stream.read(
        this.#buffer.subarray(this.#end),
      );
      if (count === null) {
        if (this.#end === this.#start) return null;
        throw new ConnectionClosedError(
          `Connection closed in the middle of ${what}`,
        );
      }
      this.#end += count;
    }
    const view = this.#buffer.subarray(this.#start, this.#start + length);
    this.#start += length;
    return view;
  }
}

/**
 * Collects frames in a buffer and writes them in large batches. Two
 * buffers take turns: one is written to the stream while frames are sealed
 * into the other, so that encryption overlaps the socket's copying.
 */
export class FrameWriter {
  #stream: ByteStream;
  #buffer = new Uint8Array(INITIAL_BUFFER_SIZE);
  #spare: Uint8Array<ArrayBuffer> | null = null;
  #length = 0;
  #writing: Promise<void> = Promise.resolve();
  #tail: Promise<void> = Promise.resolve();
  #sealer: RecordSealer | null = null;

  /** Writes to `stream`. */
  constructor(stream: ByteStream) {
    this.#stream = stream;
  }

  /** Queues one frame; writes run one at a time in call order. */
  send(type: FrameType, payload: Uint8Array): Promise<void> {
    return this.#serialize(async () => {
      if (this.#sealer !== null && payload.length >= SEAL_APART_SIZE) {
        // The sealed payload is new memory of its own: it is written as it
        // is, while the caller refills `payload`. Its small head and tag
        // travel with the batched bytes around it.
        const [head, body, tag] = this.#sealer.sealApart(type, payload);
        await this.#queue(head);
        await this.#startWrite();
        this.#writing = this.#writing
          .then(() => writeAll(this.#stream, body))
          .then(() => releaseBuffer(body));
        this.#writing.catch(() => {});
        await this.#queue(tag);
        return;
      }
      const total = this.#sealer === null
        ? FRAME_HEADER_LENGTH + payload.length
        : RECORD_HEADER_LENGTH + 1 + payload.length + TAG_LENGTH;
      const fits = () => this.#length + total <= this.#buffer.length;
      if (!fits() && this.#buffer.length < WRITE_BUFFER_SIZE) {
        const grown = new Uint8Array(WRITE_BUFFER_SIZE);
        grown.set(this.#buffer.subarray(0, this.#length));
        this.#buffer = grown;
      }
      if (!fits()) await this.#startWrite();
      if (this.#sealer === null) {
        writeFrameHeader(this.#buffer, this.#length, type, payload.length);
        this.#buffer.set(payload, this.#length + FRAME_HEADER_LENGTH);
      } else {
        this.#sealer.seal(type, payload, this.#buffer, this.#length);
      }
      this.#length += total;
    });
  }

  /** Encrypts every frame queued from now on with `sealer`. */
  startSealing(sealer: RecordSealer): Promise<void> {
    return this.#serialize(() => {
      this.#sealer = sealer;
      return Promise.resolve();
    });
  }

  /** Writes out everything queued. */
  flush(): Promise<void> {
    return this.#serialize(async () => {
      await this.#startWrite();
      await this.#writing;
    });
  }

  /** Writes raw bytes after everything queued, bypassing framing. */
  sendRaw(bytes: Uint8Array): Promise<void> {
    return this.#serialize(async () => {
      await this.#startWrite();
      await this.#writing;
      await writeAll(this.#stream, bytes);
    });
  }

  /** Appends raw bytes to the batch, writing the batch first if full. */
  async #queue(bytes: Uint8Array): Promise<void> {
    if (this.#length + bytes.length > this.#buffer.length) {
      await this.#startWrite();
    }
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /**
   * Starts writing what is queued and switches to the other buffer, once
   * the write before has finished with it.
   */
  async #startWrite(): Promise<void> {
    // The write before must be done with the spare buffer first.
    await this.#writing;
    if (this.#length === 0) return;
    const full = this.#buffer;
    this.#writing = writeAll(this.#stream, full.subarray(0, this.#length));
    // Observed when the next write or flush awaits it.
    this.#writing.catch(() => {});
    this.#buffer = this.#spare?.length === full.length
      ? this.#spare
      : new Uint8Array(full.length);
    this.#spare = full;
    this.#length = 0;
  }

  #serialize(operation: () => Promise<void>): Promise<void> {
    const result = this.#tail.then(operation);
    // A failed write must not wedge the writes queued after it.
    this.#tail = result.catch(() => {});
    return result;
  }
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
 * writer must already seal with the matching {@link RecordSealer}.
 */
export class SecureChannel extends FramedChannel {
  #opener: RecordOpener;

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

  /** See {@link Channel.receive}. */
  async receive(): Promise<Frame | null> {
    const view = await this.reader.readExact(
      RECORD_HEADER_LENGTH,
      "a record header",
    );
    if (view === null) return null;
    // The next read may move the buffer under this view.
    const header = view.slice();
    const body = await this.reader.readExact(
      readRecordLength(header),
      "a record",
    );
    if (body === null) {
      throw new ConnectionClosedError(
        "Connection closed in the middle of a record",
      );
    }
    const frame = this.#opener.open(header, body);
    if (frame.type === FrameType.Handshake) {
      throw new ProtocolError(
        "Peer sent a handshake frame after the key exchange",
      );
    }
    // Opening a record decrypts into new memory.
    return { ...frame, detached: true };
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
