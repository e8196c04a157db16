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

/**
 * Writes at least this large go through a second handle of the same file,
 * a Deno.FsFile, whose writes run on another thread: node:fs's `write`
 * copies into the page cache on the main thread before it calls back,
 * 0.3 to 2 ms per MiB that the receiver then spends neither reading,
 * opening nor hashing. Smaller writes cost less than the hand-off.
 */
const HANDLE_WRITE_SIZE = 256 * 1024;

/** Files of this class open at once in this process. */
let openFiles = 0;

/** See {@link descriptorsCrowded}; found on first use. */
let crowdedAt: number | undefined;

/** The most descriptors this process may have open, as far as it can tell. */
function openFileLimit(): number {
  try {
    const line = Deno.readTextFileSync("/proc/self/limits").split("\n")
      .find((text) => text.startsWith("Max open files"));
    // "Max open files  SOFT  HARD  files": Deno raises the soft one.
    const soft = Number(line?.trim().split(/\s+/)[3]);
    if (Number.isSafeInteger(soft) && soft > 0) return soft;
  } catch {
    // Not Linux, or not allowed to read it.
  }
  return 1024;
}

/**
 * Whether the files open for receiving hold a quarter of the descriptors
 * this process may have: verified files should then go in place, and be
 * closed, before a session opens more, or the next files of every session
 * would fail with "too many open files".
 */
export function descriptorsCrowded(): boolean {
  crowdedAt ??= Math.max(16, Math.floor(openFileLimit() / 4));
  return openFiles >= crowdedAt;
}

/** Where to open a second handle of a file, to write it off the main thread. */
export interface Reopen {
  /** A path that names the file now (its identity is checked). */
  path: string;
  /** Whether the descriptor appends. */
  append: boolean;
}

/** An open file descriptor with the calls the receiver needs. */
export class FdFile implements WritableFile {
  /** The descriptor; -1 once closed. */
  fd: number;
  #reopen: Reopen | null;
  /** The second handle, once a large write opened it. */
  #handle: Deno.FsFile | null = null;
  /** Bytes written through the descriptor, where the handle starts. */
  #position = 0;

  /**
   * Takes over `fd`, which {@link close} closes; with `reopen`, large
   * writes go through a second handle opened there.
   */
  constructor(fd: number, reopen: Reopen | null = null) {
    this.fd = fd;
    this.#reopen = reopen;
    openFiles++;
  }

  /** See {@link WritableFile.write}: at the file's current position. */
  write(data: Uint8Array): Promise<number> {
    if (this.#handle === null && data.length >= HANDLE_WRITE_SIZE) {
      this.#handle = this.#openHandle();
    }
    if (this.#handle !== null) return this.#handle.write(data);
    return new Promise<number>((resolve, reject) =>
      fs.write(
        this.fd,
        data,
        0,
        data.length,
        null,
        (error, written) => error ? reject(error) : resolve(written),
      )
    ).then((written) => {
      this.#position += written;
      return written;
    });
  }

  /** See {@link WritableFile.writeSync}. */
  writeSync(data: Uint8Array): number {
    if (this.#handle !== null) return this.#handle.writeSync(data);
    const written = fs.writeSync(this.fd, data);
    this.#position += written;
    return written;
  }

  /**
   * A second handle of this very file (same device and inode), at the
   * descriptor's position; null when it cannot be had (permissions), and
   * then the descriptor does all the writing.
   */
  #openHandle(): Deno.FsFile | null {
    const reopen = this.#reopen;
    // Tried once: a failure would only repeat.
    this.#reopen = null;
    if (reopen === null) return null;
    let handle: Deno.FsFile | undefined;
    try {
      handle = Deno.openSync(reopen.path, {
        write: true,
        append: reopen.append,
      });
      const info = handle.statSync();
      const own = this.identity();
      if (info.dev !== own.dev || info.ino !== own.ino || !info.isFile) {
        handle.close();
        return null;
      }
      if (!reopen.append) handle.seekSync(this.#position, Deno.SeekMode.Start);
      return handle;
    } catch {
      handle?.close();
      return null;
    }
  }

  /**
   * See {@link WritableFile.syncData}: through the descriptor, even after
   * the handle was opened, since Deno runs one call of a handle at a time
   * and a flush of it would hold its next write back.
   */
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
    openFiles--;
    const handle = this.#handle;
    this.#handle = null;
    try {
      handle?.close();
    } finally {
      fs.closeSync(fd);
    }
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
