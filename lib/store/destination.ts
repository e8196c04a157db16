/**
 * The server's destination folder: decides what to do with each offered
 * entry and checks what a client proves it has (both in
 * `destination_decisions.ts`), stages arriving data in the private staging
 * folder ({@link ./staging.ts}) and moves each verified file to its name
 * through folders held open by descriptor, never through a link and never
 * over something that appeared there meanwhile.
 *
 * @module
 */

import fs from "node:fs";
import type { Decision, Entry, IfDifferent } from "../protocol/messages.ts";
import { quote } from "../protocol/text.ts";
import { publicMessage } from "../common/errors.ts";
import { osErrorCode } from "../common/os_errors.ts";
import type { FileStore, FolderSync, PartialFile } from "./file_store.ts";
import {
  FolderHandle,
  FolderTree,
  NotAFolderError,
  parentOf,
} from "./folder_handle.ts";
import { newHash } from "./hash.ts";
import { descriptorsCrowded, type FdFile } from "./fd_file.ts";
import { DestinationDecisions } from "./destination_decisions.ts";
import {
  DestinationRoot,
  DestinationUnusableError,
} from "./destination_root.ts";
import type { StagedFile } from "./staging.ts";
import { DestinationError, placeNamed, placeUnnamed } from "./placement.ts";

export { DestinationError, DestinationRoot, DestinationUnusableError };

/**
 * Staged files at least this large get their record when they are
 * created, so that even a crash of the server leaves them resumable;
 * smaller ones cost little to send again and get it only when a session
 * ends early.
 */
const RECORD_AT_CREATION = 1024 * 1024;

/** Data of an entry being received into the staging folder. */
interface Staged extends PartialFile {
  /** The open staged file. */
  file: FdFile;
  /** The staged inode; null while the file has no name (unnamed_files.ts). */
  staged: StagedFile | null;
  /** The entry's name key. */
  key: string;
  /** Whether its record is written. */
  recorded: boolean;
}

/** One session's view of the folder files are received into. */
export class Destination implements FileStore {
  #root: DestinationRoot;
  #tree: FolderTree;
  #decisions: DestinationDecisions;
  /** Folders this session created, as relative paths. */
  #created = new Set<string>();
  /** Ids of the staged files this session created, held from others. */
  #held = new Set<string>();

  /** A session's view of `root`. */
  constructor(root: DestinationRoot) {
    this.#root = root;
    this.#tree = new FolderTree(root.folder);
    this.#decisions = new DestinationDecisions(root, this.#tree);
  }

  /** Absolute path of the destination folder. */
  get root(): string {
    return this.#root.path;
  }

  /**
   * Any manifest may come, each entry decided on its own, as long as the
   * folder can still be written: checked again for every session, before
   * its data.
   */
  refuseManifest(): string | null {
    return this.#root.unwritable();
  }

  /** See {@link DestinationDecisions.decide}. */
  decide(entry: Entry, requested?: IfDifferent): Promise<Decision> {
    return this.#decisions.decide(entry, requested);
  }

  /** See {@link DestinationDecisions.savedAs}. */
  savedAs(path: string): string | undefined {
    return this.#decisions.savedAs(path);
  }

  /** See {@link DestinationDecisions.prove}. */
  prove(entry: Entry, sha256: string): Promise<boolean> {
    return this.#decisions.prove(entry, sha256);
  }

  /** See {@link DestinationDecisions.withdraw}. */
  withdraw(path: string): void {
    this.#decisions.withdraw(path);
  }

  /** The folder `relative` goes in, retained for the caller. */
  #openParent(relative: string): FolderHandle {
    try {
      return this.#tree.get(parentOf(relative));
    } catch (error) {
      if (error instanceof NotAFolderError) {
        throw new DestinationError(
          `Cannot save ${
            quote(relative)
          }: ${error.message} on the ${this.#root.side}`,
        );
      }
      throw error;
    }
  }

  /**
   * Creates the folder of an accepted folder entry and its missing parents;
   * null when it is there, else why it cannot be, as a refusal's reason.
   */
  makeFolder(relative: string): string | null {
    const problem = this.#makeFolder(relative);
    return problem === null ? null : `cannot be created: ${problem}`;
  }

  /**
   * Creates the folder `relative` and its missing parents, one component
   * at a time and never through a link; only components not reached
   * before cost anything. Null when it is there, else what stopped it.
   */
  #makeFolder(relative: string): string | null {
    try {
      this.#tree.get(relative, true, (made) => this.#created.add(made))
        .release();
      return null;
    } catch (error) {
      if (error instanceof NotAFolderError) {
        return `${error.message} on the ${this.#root.side}`;
      }
      // The operating system's message names the folder by descriptor, or
      // not at all: the caller says which one.
      if (osErrorCode(error) !== undefined) {
        return `${publicMessage(error)} on the ${this.#root.side}`;
      }
      throw error;
    }
  }

  /**
   * Opens the staged file of `entry`: the kept data the client proved it
   * shares when `offset` is its length, a new empty file when 0.
   */
  // deno-lint-ignore require-await
  async createPartial(entry: Entry, offset: number): Promise<PartialFile> {
    const parent = parentOf(entry.path);
    const problem = parent === "" ? null : this.#makeFolder(parent);
    if (problem !== null) {
      throw new DestinationError(
        `Cannot create folder ${quote(parent)}: ${problem}`,
      );
    }
    const key = this.#root.key(entry.path);
    const staging = this.#root.staging;
    const resumable = this.#decisions.takeResumable(entry.path);
    if (offset > 0) {
      if (resumable === undefined || resumable.kept.length !== offset) {
        throw new DestinationError(
          `No kept data of ${offset} bytes for ${quote(entry.path)}`,
        );
      }
      const file = staging.openKept(resumable.kept, entry.path, true);
      const staged: Staged = {
        entry,
        file,
        hash: resumable.hash,
        staged: resumable.kept,
        key,
        recorded: true,
      };
      return staged;
    }
    const recorded = entry.size >= RECORD_AT_CREATION;
    // Without a name until it has its own, when nothing kept must be
    // replaced and nothing under its name may be (see unnamed_files.ts).
    if (!recorded && !this.#root.overwrite && !staging.mayHoldKept(key)) {
      const file = staging.createUnnamed();
      if (file !== null) {
        const unnamed: Staged = {
          entry,
          file,
          hash: newHash(),
          staged: null,
          key,
          recorded,
        };
        return unnamed;
      }
    }
    const { staged, file } = staging.create(key);
    this.#hold(staged.id);
    if (recorded) staging.writeRecord(key, staged);
    const created: Staged = {
      entry,
      file,
      hash: newHash(),
      staged,
      key,
      recorded,
    };
    return created;
  }

  /**
   * Makes a verified staged file's data durable and gives it the entry's
   * mode (less the server's umask) and time, through its descriptor.
   * Many files may be sealed at once, so that the disk flushes them
   * together.
   */
  async seal(partial: PartialFile): Promise<void> {
    const { entry, file, staged } = partial as Staged;
    let sealed = false;
    try {
      await file.syncData();
      const mode = entry.mode & 0o777 & ~this.#root.staging.umask;
      file.setMetadata(mode, new Date(entry.mtime));
      sealed = true;
    } finally {
      // An unnamed file gets its name through its descriptor.
      if (staged !== null || !sealed) file.close();
    }
  }

  /**
   * Gives a sealed file its final name (or the new name it is saved
   * under), never replacing what appeared there meanwhile (unless
   * `--overwrite`, it is a regular file and the file keeps its name), and
   * only from the very inode that was written; returns the folder whose
   * sync makes it durable, which the caller releases.
   */
  install(partial: PartialFile): FolderSync {
    const { entry, staged, recorded, file } = partial as Staged;
    if (staged === null) {
      const folder = this.#openParent(entry.path);
      try {
        placeUnnamed(file, folder, this.#decisions.nameToSave(entry.path));
      } catch (error) {
        folder.release();
        throw error;
      } finally {
        file.close();
      }
      return folder;
    }
    const staging = this.#root.staging;
    if (!staging.holds(staged)) {
      throw new DestinationError(
        `The staged data of ${
          quote(entry.path)
        } changed on the ${this.#root.side}`,
      );
    }
    const name = this.#decisions.nameToSave(entry.path);
    const folder = this.#openParent(entry.path);
    try {
      placeNamed(
        staging.partPath(staged.id),
        folder,
        name,
        this.#root.overwrite && name === entry.path,
      );
    } catch (error) {
      folder.release();
      throw error;
    }
    if (recorded) staging.removeRecord(staged.id);
    this.#unhold(staged.id);
    return folder;
  }

  /** See {@link FileStore.crowded}. */
  crowded(): boolean {
    return descriptorsCrowded();
  }

  /** Makes the new names in `folders` durable, each folder once. */
  async syncFolders(folders: Iterable<FolderSync>): Promise<void> {
    const seen = new Set<FolderSync>();
    try {
      for (const folder of folders) {
        if (seen.has(folder)) continue;
        seen.add(folder);
        await folder.sync();
      }
    } finally {
      for (const folder of folders) folder.release();
    }
  }

  /**
   * Closes and deletes staged data that is of no use; never fails, so
   * that a group's other files are still put in place or closed.
   */
  // deno-lint-ignore require-await
  async discard(partial: PartialFile): Promise<void> {
    const { file, staged } = partial as Staged;
    file.close();
    if (staged === null) return;
    try {
      this.#root.staging.remove(staged.id);
    } catch {
      // Without a record it is never adopted; the cleanup removes it.
    } finally {
      this.#unhold(staged.id);
    }
  }

  /**
   * Closes staged data and keeps it for a later session to resume;
   * resolves to the bytes kept (none kept when there are none).
   */
  // deno-lint-ignore require-await
  async keep(partial: PartialFile): Promise<number> {
    const { file, staged, key, recorded } = partial as Staged;
    const staging = this.#root.staging;
    if (staged === null) return this.#keepUnnamed(file, key);
    let length = 0;
    if (staging.holds(staged)) {
      length = fs.lstatSync(staging.partPath(staged.id)).size;
    }
    file.close();
    if (length === 0) staging.remove(staged.id);
    else if (!recorded) staging.writeRecord(key, staged);
    return length;
  }

  /**
   * Names an unnamed staged file to keep it; returns the bytes kept, none
   * when it cannot be named (as on a full disk).
   */
  #keepUnnamed(file: FdFile, key: string): number {
    const staging = this.#root.staging;
    let kept: StagedFile | null = null;
    let length = 0;
    try {
      length = file.identity().size;
      if (length > 0) kept = staging.nameUnnamed(file, key);
    } catch {
      return 0;
    } finally {
      file.close();
    }
    if (kept === null) return 0;
    this.#hold(kept.id);
    staging.writeRecord(key, kept);
    return length;
  }

  /**
   * Applies a folder's mode (less the umask) and time, once everything
   * inside is written, if this session created the folder.
   */
  finishFolder(entry: Entry): Promise<void> {
    // A folder that was already there keeps its mode and time: the client
    // must not loosen the permissions of what it did not create.
    if (!this.#created.has(entry.path)) return Promise.resolve();
    const folder = this.#tree.get(entry.path);
    try {
      const mode = entry.mode & 0o777 & ~this.#root.staging.umask;
      const mtime = new Date(entry.mtime);
      if (folder.fd === null) {
        fs.chmodSync(folder.path, mode);
        fs.utimesSync(folder.path, mtime, mtime);
      } else {
        fs.fchmodSync(folder.fd, mode);
        fs.futimesSync(folder.fd, mtime, mtime);
      }
    } finally {
      folder.release();
    }
    return Promise.resolve();
  }

  #hold(id: string): void {
    this.#held.add(id);
    this.#root.holdStaged(id);
  }

  /**
   * Lets go of a staged file that is gone from the staging folder: held
   * until the session ends, a hundred thousand files would hold as many
   * ids.
   */
  #unhold(id: string): void {
    if (this.#held.delete(id)) this.#root.holdStaged(id, false);
  }

  /** Releases every path this session claimed and every folder it held. */
  release(): void {
    for (const id of this.#held) this.#root.holdStaged(id, false);
    this.#held.clear();
    this.#decisions.release();
    this.#tree.close();
  }
}
