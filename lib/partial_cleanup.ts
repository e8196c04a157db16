/**
 * Removes temporary files that interrupted transfers left behind in the
 * server's destination folder, without ever going through a symbolic link.
 *
 * @module
 */

import { join } from "node:path";
import { sanitize } from "../protocol.ts";
import { PARTIAL_SUFFIX } from "./destination.ts";
import { publicMessage } from "./errors.ts";

/** What {@link removeStalePartials} did. */
export interface CleanupResult {
  /** How many temporary files were removed. */
  removed: number;
  /** Their total size in bytes. */
  bytes: number;
  /** One line for each folder or file that was skipped because of an error. */
  errors: string[];
}

/**
 * Whether `name` is the name of a temporary file: hidden, so that it does
 * not show up next to finished files, and ending in {@link PARTIAL_SUFFIX}.
 */
export function isPartialName(name: string): boolean {
  return name.startsWith(".") && name.endsWith(PARTIAL_SUFFIX);
}

// Names in the destination come from peers, so they are made safe to log.
function shown(relative: string): string {
  return `"${
    sanitize(relative === "" ? "." : relative).replaceAll('"', '\\"')
  }"`;
}

function reason(error: unknown): string {
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  return publicMessage(error);
}

/**
 * Removes every temporary file under `root` whose modification time is
 * older than `now - maxAgeMs`, and returns how many were removed and their
 * total size.
 *
 * Symbolic links are never followed, and only regular files are removed.
 * A folder or file that cannot be read or removed is skipped and described
 * by one line in `errors`, naming its path relative to `root`; the rest of
 * the tree is still cleaned.
 *
 * @param root Absolute, symlink-free path of the destination folder.
 * @param maxAgeMs How long a temporary file may stay untouched before it
 *   is considered abandoned; it must outlast any pause of a live transfer.
 * @param now The current time in milliseconds since the epoch.
 * @throws {RangeError} If `maxAgeMs` is negative or not a finite number.
 */
export async function removeStalePartials(
  root: string,
  maxAgeMs: number,
  now: number = Date.now(),
): Promise<CleanupResult> {
  // A negative or NaN age would remove files that are being written now.
  if (!Number.isFinite(maxAgeMs) || maxAgeMs < 0) {
    throw new RangeError(`Invalid maximum age ${maxAgeMs} ms`);
  }
  const cutoff = now - maxAgeMs;
  const result: CleanupResult = { removed: 0, bytes: 0, errors: [] };
  // Only folders still to visit are kept, as paths relative to `root`;
  // files are dealt with as they are read, so a wide tree is never held.
  const pending: string[] = [""];
  while (pending.length > 0) {
    const folder = pending.pop()!;
    const path = join(root, folder);
    if (folder !== "") {
      // The folder may have been swapped for a link since it was listed,
      // and Deno.readDir would follow that link.
      let info: Deno.FileInfo;
      try {
        info = await Deno.lstat(path);
      } catch (error) {
        // Gone in the meantime: there is nothing left to clean in it.
        if (error instanceof Deno.errors.NotFound) continue;
        result.errors.push(
          `Cannot read folder ${shown(folder)}: ${reason(error)}`,
        );
        continue;
      }
      if (!info.isDirectory) continue;
    }
    try {
      for await (const entry of Deno.readDir(path)) {
        if (entry.isSymlink) continue;
        const relative = folder === "" ? entry.name : `${folder}/${entry.name}`;
        if (entry.isDirectory) {
          pending.push(relative);
        } else if (entry.isFile && isPartialName(entry.name)) {
          await removeIfStale(root, relative, cutoff, result);
        }
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      result.errors.push(
        `Cannot read folder ${shown(folder)}: ${reason(error)}`,
      );
    }
  }
  return result;
}

async function removeIfStale(
  root: string,
  relative: string,
  cutoff: number,
  result: CleanupResult,
): Promise<void> {
  const path = join(root, relative);
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    // Promoted to its final name or removed by someone else meanwhile.
    if (error instanceof Deno.errors.NotFound) return;
    result.errors.push(`Cannot check ${shown(relative)}: ${reason(error)}`);
    return;
  }
  // Checked again because the entry may have been replaced since listing.
  if (!info.isFile) return;
  if (info.mtime === null) {
    result.errors.push(`Cannot check ${shown(relative)}: no modification time`);
    return;
  }
  // A live transfer keeps writing, so its file is always recent.
  if (info.mtime.getTime() >= cutoff) return;
  try {
    await Deno.remove(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    result.errors.push(`Cannot remove ${shown(relative)}: ${reason(error)}`);
    return;
  }
  result.removed++;
  result.bytes += info.size;
}
