/**
 * Where a receiving session puts files: the contract between the session
 * and a destination folder ({@link ./destination.ts}) or standard output
 * ({@link ./stdout_store.ts}).
 *
 * @module
 */

import type { Decision, Entry } from "../protocol.ts";
import type { Hash } from "./hash.ts";
import type { WritableFile } from "./write_behind.ts";

/** A temporary file being written for one entry. */
export interface PartialFile {
  /** The entry it will become. */
  entry: Entry;
  /** Absolute path of the temporary file. */
  path: string;
  /** The open file, positioned at its end. */
  file: WritableFile & { close(): void };
  /** SHA-256 of the bytes already in the file. */
  hash: Hash;
}

/** What a receiving session writes into. */
export interface FileStore {
  /** The folder whose disk must hold the files; null when none. */
  readonly root: string | null;
  /** Why this store takes no session with these entries, if it does not. */
  refuseManifest(entries: readonly Entry[]): string | null;
  /** What to do with `entry`; claims its path for this session. */
  decide(entry: Entry): Promise<Decision>;
  /** Makes the folder of an accepted folder entry. */
  makeFolder(path: string): void;
  /** Opens where the data of `entry` goes, continuing at `offset`. */
  createPartial(entry: Entry, offset: number): Promise<PartialFile>;
  /** Makes a verified file's data durable and gives it its metadata. */
  seal(partial: PartialFile): Promise<void>;
  /**
   * Gives a sealed file its final name; returns the folder to sync, or
   * null when there is none.
   */
  install(partial: PartialFile, checked?: Set<string>): string | null;
  /** Makes the renames in `folders` durable. */
  syncFolders(folders: Iterable<string>): Promise<void>;
  /** Closes and deletes a partial file whose data is of no use. */
  discard(partial: PartialFile): Promise<void>;
  /** Closes a partial file and leaves it for a later session. */
  keep(partial: PartialFile): void;
  /** Gives a finished folder its mode and time. */
  finishFolder(entry: Entry): Promise<void>;
  /** Releases the paths this session claimed. */
  release(): void;
}
