/**
 * The write side of a channel: frames collected in a buffer and written in
 * large batches, in the clear or sealed as records.
 *
 * @module
 */

import { writeAll } from "../common/write_all.ts";
import { releaseBuffer } from "../common/release.ts";
import { type ByteStream, INITIAL_BUFFER_SIZE } from "../net/byte_stream.ts";
import {
  BATCH_BYTES,
  FRAME_HEADER_LENGTH,
  FrameType,
  MAX_FRAME_PAYLOAD,
} from "../protocol/constants.ts";
import { writeFrameHeader } from "../protocol/frame.ts";
import {
  RECORD_HEADER_LENGTH,
  type RecordSealer,
  TAG_LENGTH,
} from "./record.ts";

// Room for the largest frame or record, so that every frame is one copy.
const WRITE_BUFFER_SIZE = MAX_FRAME_PAYLOAD + 64 * 1024;
// Sealed frames at least this large skip the batch buffer: copying them
// would cost more than the extra writes.
const SEAL_APART_SIZE = 64 * 1024;

/**
 * Collects frames in a buffer and writes them in large batches. Two
 * buffers take turns: one is written to the stream while frames are sealed
 * into the other, so that encryption overlaps the socket's copying. Once
 * sealing, small frames are first packed together, up to
 * {@link BATCH_BYTES}, and sealed as one batch frame: a small file's
 * `file`, data and `end` frames, and many files', cost one record.
 */
export class FrameWriter {
  #stream: ByteStream;
  #buffer = new Uint8Array(INITIAL_BUFFER_SIZE);
  #spare: Uint8Array<ArrayBuffer> | null = null;
  #length = 0;
  #writing: Promise<void> = Promise.resolve();
  #tail: Promise<void> = Promise.resolve();
  #sealer: RecordSealer | null = null;
  #stalledMs = 0;
  /** Small frames waiting to be sealed together, with their headers. */
  #pack: Uint8Array | null = null;
  #packLength = 0;
  #packFrames = 0;

  /** Writes to `stream`. */
  constructor(stream: ByteStream) {
    this.#stream = stream;
  }

  /** Queues one frame; writes run one at a time in call order. */
  send(type: FrameType, payload: Uint8Array): Promise<void> {
    return this.#serialize(async () => {
      if (this.#sealer === null) return await this.#put(type, payload);
      if (payload.length >= SEAL_APART_SIZE) {
        await this.#sealPack();
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
      const total = FRAME_HEADER_LENGTH + payload.length;
      if (this.#packLength + total > BATCH_BYTES) await this.#sealPack();
      const pack = this.#growPack(this.#packLength + total);
      writeFrameHeader(pack, this.#packLength, type, payload.length);
      pack.set(payload, this.#packLength + FRAME_HEADER_LENGTH);
      this.#packLength += total;
      this.#packFrames++;
    });
  }

  /**
   * Makes the pack hold at least `length` bytes. It grows by doubling: a
   * side that only sends small messages now and then (a receiving server
   * with its confirmations) keeps a few KiB, not a full batch, for each of
   * its 50 sessions.
   */
  #growPack(length: number): Uint8Array {
    if (this.#pack !== null && this.#pack.length >= length) return this.#pack;
    let size = Math.min(BATCH_BYTES, this.#pack?.length ?? 4096);
    while (size < length && size < BATCH_BYTES) {
      size = Math.min(BATCH_BYTES, size * 2);
    }
    const grown = new Uint8Array(size);
    if (this.#pack !== null) {
      grown.set(this.#pack.subarray(0, this.#packLength));
    }
    this.#pack = grown;
    return grown;
  }

  /**
   * Seals the packed frames: one alone as its own record, several as one
   * batch frame.
   */
  async #sealPack(): Promise<void> {
    if (this.#packFrames === 0) return;
    const pack = this.#pack!.subarray(0, this.#packLength);
    const one = this.#packFrames === 1;
    this.#packLength = 0;
    this.#packFrames = 0;
    if (one) {
      await this.#put(
        pack[4] as FrameType,
        pack.subarray(FRAME_HEADER_LENGTH),
      );
    } else await this.#put(FrameType.Batch, pack);
  }

  /** Writes one frame or record into the batch buffer. */
  async #put(type: FrameType, payload: Uint8Array): Promise<void> {
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
  }

  /** Encrypts every frame queued from now on with `sealer`. */
  startSealing(sealer: RecordSealer): Promise<void> {
    return this.#serialize(() => {
      this.#sealer = sealer;
      return Promise.resolve();
    });
  }

  /**
   * Milliseconds the frames queued so far have waited for the stream to
   * take the bytes before them: the time the network (or the peer), not
   * this side, held the sending up.
   */
  get stalledMs(): number {
    return this.#stalledMs;
  }

  /** Writes out everything queued. */
  flush(): Promise<void> {
    return this.#serialize(async () => {
      await this.#sealPack();
      await this.#startWrite();
      await this.#waitForWrite();
    });
  }

  /** Writes raw bytes after everything queued, bypassing framing. */
  sendRaw(bytes: Uint8Array): Promise<void> {
    return this.#serialize(async () => {
      await this.#sealPack();
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
    await this.#waitForWrite();
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

  /** Waits for the write in flight, counting the time it held us up. */
  async #waitForWrite(): Promise<void> {
    const started = performance.now();
    try {
      await this.#writing;
    } finally {
      this.#stalledMs += performance.now() - started;
    }
  }

  #serialize(operation: () => Promise<void>): Promise<void> {
    const result = this.#tail.then(operation);
    // A failed write must not wedge the writes queued after it.
    this.#tail = result.catch(() => {});
    return result;
  }
}
