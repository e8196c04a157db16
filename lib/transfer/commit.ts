/**
 * Putting verified files in place, a group at a time: their data flushed
 * to disk together, {@link SEAL_PARALLEL} files at once, each moved to its
 * name while the next ones flush, each folder synced once, and only then
 * each confirmed to the client.
 *
 * @module
 */

import type { Channel } from "../secure/channel.ts";
import type { EntryList } from "../protocol/entry_list.ts";
import { clipMessage } from "../protocol/text.ts";
import { publicMessage } from "../common/errors.ts";
import type { EventSink } from "./events.ts";
import type {
  FileStore,
  FolderSync,
  PartialFile,
} from "../store/file_store.ts";
import { send } from "./receive_setup.ts";

/** Files flushed to disk at the same time. */
const SEAL_PARALLEL = 32;

/** A file whose data arrived whole and matched its hash. */
export interface VerifiedFile {
  /** Its index in the manifest. */
  index: number;
  /** Its SHA-256. */
  sha256: string;
  /** Where its data is; null when saving it failed. */
  partial: PartialFile | null;
  /** Why saving it failed, if it did. */
  failure: string | null;
}

/** The cause of a local failure to save, fit for the client to read. */
export function saveFailure(error: unknown): string {
  return clipMessage(`cannot save: ${publicMessage(error)}`);
}

/** Counts of a session that a commit adds to. */
export interface CommitTotals {
  verified: number;
  failed: number;
}

/**
 * Puts the files of `group` under their final names and confirms each to
 * the client: `verified` for those that are durable under their names,
 * `failed` for the others.
 */
export async function commitGroup(
  group: readonly VerifiedFile[],
  entries: EntryList,
  store: FileStore,
  channel: Channel,
  emit: EventSink,
  totals: CommitTotals,
): Promise<void> {
  const failures = new Map<number, string>();
  const folders: FolderSync[] = [];
  const seal = (files: readonly VerifiedFile[]) =>
    Promise.all(files.map(async ({ index, partial }) => {
      if (partial === null) return;
      try {
        await store.seal(partial);
      } catch (error) {
        failures.set(index, saveFailure(error));
      }
    }));
  const install = async (files: readonly VerifiedFile[]) => {
    for (const { index, partial, failure } of files) {
      const failed = failures.get(index) ?? failure;
      if (failed !== null) {
        failures.set(index, failed);
        if (partial) await store.discard(partial);
        continue;
      }
      try {
        const folder = store.install(partial!);
        if (folder !== null) folders.push(folder);
      } catch (error) {
        await store.discard(partial!);
        failures.set(index, saveFailure(error));
      }
    }
  };
  // Each wave's files go in place while the next wave flushes: the disk
  // commits their new names with that flush, and never waits for them.
  let previous: readonly VerifiedFile[] = [];
  for (let at = 0; at < group.length; at += SEAL_PARALLEL) {
    const wave = group.slice(at, at + SEAL_PARALLEL);
    const flushing = seal(wave);
    try {
      await install(previous);
    } finally {
      await flushing;
    }
    previous = wave;
  }
  await install(previous);
  try {
    await store.syncFolders(folders);
  } catch (error) {
    // The files are in place; only their durability is in doubt.
    for (const { index } of group) {
      if (!failures.has(index)) failures.set(index, saveFailure(error));
    }
  }
  for (const { index, sha256 } of group) {
    const message = failures.get(index);
    if (message !== undefined) {
      totals.failed++;
      emit({ type: "file-failed", path: entries.path(index), message }, index);
      await send(channel, { type: "failed", index, message });
      continue;
    }
    totals.verified++;
    const savedAs = store.savedAs?.(entries.path(index));
    const renamed = savedAs === undefined ? {} : { savedAs };
    emit({
      type: "file-verified",
      path: entries.path(index),
      size: entries.size(index),
      sha256,
      ...renamed,
    }, index);
    await send(channel, { type: "verified", index, sha256, ...renamed });
  }
}
