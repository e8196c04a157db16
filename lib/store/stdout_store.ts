/**
 * `server.ts --once --stdout`: one file, written to standard output as it
 * arrives instead of into a folder, so that the server can feed a pipe.
 * Its hash is still checked at the end, and the exit status says whether
 * it matched; what a pipe already took cannot be taken back, so there is
 * no resuming.
 *
 * @module
 */

import type { EntryList } from "../protocol/entry_list.ts";
import type { Decision, Entry } from "../protocol/messages.ts";
import type { FileStore, FolderSync, PartialFile } from "./file_store.ts";
import { newHash } from "./hash.ts";

/** Standard output as the one file of one session. */
export class StdoutStore implements FileStore {
  /** No folder: there is no disk space to check. */
  readonly root: string | null = null;
  #taken = false;
  #output: PartialFile["file"];

  /** Writes to `output`, standard output by default. */
  constructor(
    output: {
      write(data: Uint8Array): Promise<number>;
      writeSync(data: Uint8Array): number;
    } = Deno.stdout,
  ) {
    this.#output = {
      write: (data) => output.write(data),
      writeSync: (data) => output.writeSync(data),
      // A pipe has nothing to flush to a disk.
      syncData: () => Promise.resolve(),
      close: () => {},
    };
  }

  /** Takes exactly one file, in the first session that asks. */
  refuseManifest(entries: EntryList): string | null {
    if (entries.length !== 1 || entries.kind(0) !== "file") {
      const what = entries.length === 1
        ? "a folder"
        : `${entries.length} files and folders`;
      return `This server writes one single file to its standard output (--stdout), not ${what}`;
    }
    if (this.#taken) {
      return "This server's standard output already took a file from another connection";
    }
    this.#taken = true;
    return null;
  }

  /** The one file is always sent whole. */
  decide(_entry: Entry): Promise<Decision> {
    return Promise.resolve({ action: "send", offset: 0 });
  }

  /** Never called: no decision asks for a proof. */
  prove(_entry: Entry, _sha256: string): Promise<boolean> {
    return Promise.resolve(false);
  }

  /** Never called: folders are refused with the manifest. */
  makeFolder(path: string): string | null {
    throw new Error(`Cannot make folder ${path} on standard output`);
  }

  /** Standard output, from its start. */
  createPartial(entry: Entry, offset: number): Promise<PartialFile> {
    if (offset !== 0) {
      return Promise.reject(new Error("Standard output cannot resume"));
    }
    return Promise.resolve({ entry, file: this.#output, hash: newHash() });
  }

  /** Nothing to make durable or to give metadata to. */
  seal(_partial: PartialFile): Promise<void> {
    return Promise.resolve();
  }

  /** No name to give: the data is already out. */
  install(_partial: PartialFile): FolderSync | null {
    return null;
  }

  /** No folder to sync. */
  syncFolders(_folders: Iterable<FolderSync>): Promise<void> {
    return Promise.resolve();
  }

  /** What was written cannot be taken back. */
  discard(_partial: PartialFile): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing is kept for a later session. */
  keep(_partial: PartialFile): Promise<number | null> {
    return Promise.resolve(null);
  }

  /** Never called: folders are refused with the manifest. */
  finishFolder(_entry: Entry): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing was claimed. */
  release(): void {}
}
