/**
 * The entries of a manifest as both sides keep them for a whole session:
 * each entry's path, and its kind, mode, size and time in typed arrays. An
 * object per entry cost about 90 bytes more than this, and a hundred
 * thousand of them, long-lived and made while other work went on, made
 * the garbage collector grow the heap far beyond them.
 *
 * @module
 */

import type { Entry, EntryKind } from "./messages.ts";

/** Entries an empty list has room for before it first grows. */
const INITIAL_CAPACITY = 16;

/** The entries of a manifest, in order, without an object for each. */
export class EntryList implements Iterable<Entry> {
  #paths: string[] = [];
  #folders = new Uint8Array(INITIAL_CAPACITY);
  #modes = new Uint16Array(INITIAL_CAPACITY);
  #sizes = new Float64Array(INITIAL_CAPACITY);
  #mtimes = new Float64Array(INITIAL_CAPACITY);

  /** A list of `entries`, none by default. */
  constructor(entries: Iterable<Entry> = []) {
    for (const entry of entries) this.push(entry);
  }

  /** How many entries the list holds. */
  get length(): number {
    return this.#paths.length;
  }

  /** Adds `entry` at the end; returns its index. */
  push(entry: Entry): number {
    const index = this.#paths.length;
    if (index === this.#sizes.length) this.#grow();
    this.#paths.push(entry.path);
    this.#folders[index] = entry.kind === "folder" ? 1 : 0;
    this.#modes[index] = entry.mode;
    this.#sizes[index] = entry.size;
    this.#mtimes[index] = entry.mtime;
    return index;
  }

  /** The path of entry `index`. */
  path(index: number): string {
    this.#check(index);
    return this.#paths[index];
  }

  /** The kind of entry `index`. */
  kind(index: number): EntryKind {
    this.#check(index);
    return this.#folders[index] === 1 ? "folder" : "file";
  }

  /** The size of entry `index`; 0 for a folder. */
  size(index: number): number {
    this.#check(index);
    return this.#sizes[index];
  }

  /** How many of the entries are files, and their bytes together. */
  fileTotals(): { files: number; bytes: number } {
    let files = 0;
    let bytes = 0;
    for (let index = 0; index < this.length; index++) {
      if (this.#folders[index] === 0) files++;
      bytes += this.#sizes[index];
    }
    return { files, bytes };
  }

  /** Entry `index` as an object of its own, which the caller may keep. */
  get(index: number): Entry {
    this.#check(index);
    return {
      path: this.#paths[index],
      kind: this.#folders[index] === 1 ? "folder" : "file",
      size: this.#sizes[index],
      mode: this.#modes[index],
      mtime: this.#mtimes[index],
    };
  }

  /** Each entry in order, as {@link get} makes it. */
  *[Symbol.iterator](): IterableIterator<Entry> {
    for (let index = 0; index < this.length; index++) yield this.get(index);
  }

  #check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`No entry ${index} in a list of ${this.length}`);
    }
  }

  #grow(): void {
    const capacity = this.#sizes.length * 2;
    const folders = new Uint8Array(capacity);
    folders.set(this.#folders);
    this.#folders = folders;
    const modes = new Uint16Array(capacity);
    modes.set(this.#modes);
    this.#modes = modes;
    const sizes = new Float64Array(capacity);
    sizes.set(this.#sizes);
    this.#sizes = sizes;
    const mtimes = new Float64Array(capacity);
    mtimes.set(this.#mtimes);
    this.#mtimes = mtimes;
  }
}
