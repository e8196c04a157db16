/**
 * Where a receiving session puts files: the contract between the session
 * and a destination folder ({@link ./destination.ts}) or standard output
 * ({@link ./stdout_store.ts}).
 *
 * @module
 */

import type { EntryList } from "../protocol/entry_list.ts";
import type { Decision, Entry, IfDifferent } from "../protocol/messages.ts";
import type { Hash } from "./hash.ts";
import type { WritableFile } from "./write_behind.ts";

/** Where the data of one entry is being written. */
export interface PartialFile {
  /** The entry it will become. */
  entry: Entry;
  /** The open file, positioned at its end. */
  file: WritableFile & { close(): void };
  /** SHA-256 of the bytes already in the file. */
  hash: Hash;
}

/** A folder whose new names a sync makes durable; released once synced. */
export interface FolderSync {
  /** Makes the folder's entries durable. */
  sync(): Promise<void>;
  /** Lets go of the folder. */
  release(): void;
}

/** What a receiving session writes into. */
export interface FileStore {
  /** The folder whose disk must hold the files; null when none. */
  readonly root: string | null;
  /** Why this store takes no session with these entries, if it does not. */
  refuseManifest(entries: EntryList): string | null;
  /**
   * What to do with `entry`; claims its path for this session. `requested`
   * is what the sender wants for a different file of the same name.
   */
  decide(entry: Entry, requested?: IfDifferent): Promise<Decision>;
  /**
   * The new name the file at `path` was saved under, or is already there
   * under, when not its own; after its proof. Stores that never rename
   * leave it out.
   */
  savedAs?(path: string): string | undefined;
  /**
   * Whether the store holds exactly the bytes the client hashed to
   * `sha256`, for an entry whose decision asked for a proof.
   */
  prove(entry: Entry, sha256: string): Promise<boolean>;
  /**
   * Makes the folder of an accepted folder entry; null when it is there,
   * else why it cannot be, as a refusal's reason.
   */
  makeFolder(path: string): string | null;
  /**
   * Gives back what deciding on the file at `path` took (its claim, kept
   * data it offered), when its decision became a refusal after all.
   * Stores that claim nothing leave it out.
   */
  withdraw?(path: string): void;
  /** Opens where the data of `entry` goes, continuing at `offset`. */
  createPartial(entry: Entry, offset: number): Promise<PartialFile>;
  /** Makes a verified file's data durable and gives it its metadata. */
  seal(partial: PartialFile): Promise<void>;
  /**
   * Gives a sealed file its final name; returns the folder to sync, or
   * null when there is none.
   */
  install(partial: PartialFile): FolderSync | null;
  /** Makes the new names in `folders` durable, and releases them. */
  syncFolders(folders: Iterable<FolderSync>): Promise<void>;
  /** Closes and deletes a partial file whose data is of no use. */
  discard(partial: PartialFile): Promise<void>;
  /**
   * Closes a partial file and leaves it for a later session; resolves to
   * the bytes kept, or null for a store that keeps nothing.
   */
  keep(partial: PartialFile): Promise<number | null>;
  /**
   * Whether the files open for receiving hold so many of the process's
   * descriptors that verified files should go in place before more are
   * opened; stores that open no files leave it out.
   */
  crowded?(): boolean;
  /** Gives a finished folder its mode and time. */
  finishFolder(entry: Entry): Promise<void>;
  /** Releases the paths this session claimed. */
  release(): void;
}
