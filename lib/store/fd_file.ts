/**
 * A file open by descriptor (node:fs), so that its data, mode and times
 * are set through the very file that was created, never through a path
 * someone could swap.
 *
 * @module
 */

import fs from "node:fs";
import { type Hash, newHash } from "./hash.ts";
import type { WritableFile } from "./write_behind.ts";
import { descriptorIdentity, type FileIdentity } from "./folder_handle.ts";

/** Bytes read per call while hashing. */
const READ_SIZE = 1024 * 1024;

/** An open file descriptor with the calls the receiver needs. */
export class FdFile implements WritableFile {
  /** The descriptor; -1 once closed. */
  fd: number;

  /** Takes over `fd`, which {@link close} closes. */
  constructor(fd: number) {
    this.fd = fd;
  }

  /** See {@link WritableFile.write}: at the file's current position. */
  write(data: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) =>
      fs.write(
        this.fd,
        data,
        0,
        data.length,
        null,
        (error, written) => error ? reject(error) : resolve(written),
      )
    );
  }

  /** See {@link WritableFile.writeSync}. */
  writeSync(data: Uint8Array): number {
    return fs.writeSync(this.fd, data);
  }

  /** See {@link WritableFile.syncData}. */
  syncData(): Promise<void> {
    return new Promise((resolve, reject) =>
      fs.fdatasync(this.fd, (error) => error ? reject(error) : resolve())
    );
  }

  /** What the staging checks need of what the descriptor refers to. */
  identity(): FileIdentity {
    return descriptorIdentity(this.fd);
  }

  /** Gives the file `mode` and both its times `mtime`, by descriptor. */
  setMetadata(mode: number, mtime: Date): void {
    fs.fchmodSync(this.fd, mode);
    fs.futimesSync(this.fd, mtime, mtime);
  }

  /** Closes the descriptor; safe to call more than once. */
  close(): void {
    if (this.fd === -1) return;
    const fd = this.fd;
    this.fd = -1;
    fs.closeSync(fd);
  }
}

/** Reads up to `length` bytes at `position` of `fd` into `buffer`. */
function readAt(
  fd: number,
  buffer: Uint8Array,
  length: number,
  position: number,
): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.read(
      fd,
      buffer,
      0,
      length,
      position,
      (error, count) => error ? reject(error) : resolve(count),
    )
  );
}

/**
 * SHA-256 of the first `length` bytes of the open `fd`, still open for
 * more; null when the file ends sooner. `length` Infinity hashes it all;
 * `expected` says how many bytes there likely are, to read them in a
 * buffer no larger.
 */
export async function hashDescriptor(
  fd: number,
  length: number,
  expected = length,
): Promise<Hash | null> {
  const hash = newHash();
  // No larger than the data: see hash.ts.
  const buffer = new Uint8Array(
    Math.min(READ_SIZE, Math.max(1, Math.min(length, expected))),
  );
  let done = 0;
  while (done < length) {
    const count = await readAt(
      fd,
      buffer,
      Math.min(buffer.length, length - done),
      done,
    );
    if (count === 0) break;
    hash.update(buffer.subarray(0, count));
    done += count;
  }
  return done === length || length === Infinity ? hash : null;
}
