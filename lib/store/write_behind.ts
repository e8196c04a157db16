/**
 * Writes arriving file data to disk behind the network: large chunks the
 * caller hands over are written as they are, small ones are gathered into
 * large writes, and one write runs while the next chunk is decrypted.
 *
 * @module
 */

import { releaseBuffer } from "../common/release.ts";
import { writeAll } from "../common/write_all.ts";

/** Bytes of small chunks gathered before one write. */
const BATCH_SIZE = 1024 * 1024;

/**
 * Bytes written between two flushes to disk in the background, so that
 * the disk works while data arrives and the final flush before the rename
 * has little left to do: at the end of a 1 GiB file it still waits for
 * the flush in flight and then flushes the rest, about 20 ms at 32 MiB
 * and 10 ms at 16 MiB here. A failed flush here is ignored: the final one
 * reports it.
 */
const SYNC_INTERVAL = 16 * 1024 * 1024;

/** Chunks at least this large are written without being gathered. */
const DIRECT_SIZE = 64 * 1024;

/** The part of `Deno.FsFile` a {@link WriteBehind} needs. */
export interface WritableFile {
  /** Writes some of `data`; resolves to the count written. */
  write(data: Uint8Array): Promise<number>;
  /** Flushes the data written so far to the disk. */
  syncData(): Promise<void>;
  /** Writes some of `data` at once; resolves to the count written. */
  writeSync?(data: Uint8Array): number;
}

/**
 * Writes chunks to a file in order, with at most one write in flight. A
 * failed write is reported by a later call to `write`, and at the latest
 * by `finish`.
 */
export class WriteBehind {
  #file: WritableFile;
  #batch: Uint8Array | null = null;
  #spare: Uint8Array | null = null;
  #length = 0;
  #writing: Promise<void> = Promise.resolve();
  #failed = false;
  #error: unknown = null;
  #unsynced = 0;
  #syncing: Promise<void> | null = null;

  #batchSize: number;

  /**
   * Writes to `file`, from where it stands, about `expectedBytes` in all:
   * a small file gets a small batch buffer.
   */
  constructor(file: WritableFile, expectedBytes = BATCH_SIZE) {
    this.#file = file;
    this.#batchSize = Math.max(1, Math.min(BATCH_SIZE, expectedBytes));
  }

  /**
   * Queues `data`. With `handedOver`, the caller promises never to change
   * `data` again, so that it can be written without a copy.
   */
  async write(data: Uint8Array, handedOver: boolean): Promise<void> {
    this.#throwIfFailed();
    if (data.length >= DIRECT_SIZE) {
      await this.#writeBatch();
      await this.#start(data, handedOver);
      if (!handedOver) await this.#settle();
      return;
    }
    if (this.#length + data.length > this.#batchSize) await this.#writeBatch();
    this.#batch ??= new Uint8Array(this.#batchSize);
    this.#batch.set(data, this.#length);
    this.#length += data.length;
  }

  /** Writes out everything queued; rejects if any write failed. */
  async finish(): Promise<void> {
    await this.#settle();
    // A small remainder goes into the page cache faster at once than
    // through a hand-off to another thread, which is most of the cost of
    // a small file.
    if (this.#length <= DIRECT_SIZE && this.#file.writeSync) {
      const batch = this.#batch?.subarray(0, this.#length);
      let written = 0;
      while (batch && written < batch.length) {
        written += this.#file.writeSync(batch.subarray(written));
      }
      this.#length = 0;
    }
    await this.#writeBatch();
    await this.#settle();
    await this.#syncing;
    this.#free();
  }

  /** Waits for the write in flight, without reporting its failure. */
  async abandon(): Promise<void> {
    await this.#writing;
    await this.#syncing;
    this.#length = 0;
    this.#free();
  }

  /**
   * Frees the batch buffers now that nothing is queued or in flight: a
   * mebibyte each, held until the next garbage collection otherwise,
   * which a server ending 50 sessions in a few seconds put off until
   * tens of them had piled up.
   */
  #free(): void {
    for (const buffer of [this.#batch, this.#spare]) {
      if (buffer !== null) releaseBuffer(buffer);
    }
    this.#batch = null;
    this.#spare = null;
  }

  async #writeBatch(): Promise<void> {
    if (this.#length === 0 || this.#batch === null) return;
    const full = this.#batch;
    const length = this.#length;
    this.#length = 0;
    await this.#start(full.subarray(0, length), false);
    // The spare was the buffer of the write that #start waited for.
    this.#batch = this.#spare;
    this.#spare = full;
  }

  /**
   * Starts writing `data` once the write before it is done, and frees it
   * afterwards if it was `handedOver`.
   */
  async #start(data: Uint8Array, handedOver: boolean): Promise<void> {
    await this.#settle();
    this.#writing = writeAll(this.#file, data).then(
      () => {
        this.#unsynced += data.length;
        if (handedOver) releaseBuffer(data);
        if (this.#unsynced >= SYNC_INTERVAL && this.#syncing === null) {
          this.#unsynced = 0;
          this.#syncing = this.#file.syncData().catch(() => {}).finally(
            () => {
              this.#syncing = null;
            },
          );
        }
      },
      (error) => {
        this.#failed = true;
        this.#error = error;
      },
    );
  }

  async #settle(): Promise<void> {
    await this.#writing;
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#failed) throw this.#error;
  }
}
