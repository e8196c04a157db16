/**
 * Removes data that interrupted transfers left in the server's staging
 * folder once it is older than the server's limit. Only the staging folder
 * is looked at: the destination itself is never walked, and nothing the
 * server did not stage is ever removed.
 *
 * @module
 */

import fs from "node:fs";
import { errorCode } from "./folder_handle.ts";
import { publicMessage } from "../common/errors.ts";
import { PART_SUFFIX, RECORD_SUFFIX, type Staging } from "./staging.ts";

/** What {@link removeStalePartials} did. */
export interface CleanupResult {
  /** How many kept files were removed. */
  removed: number;
  /** Their total size in bytes. */
  bytes: number;
  /** One line for each file that could not be removed. */
  errors: string[];
}

/** Whether `name` is staged data or its record. */
export function isStagedName(name: string): boolean {
  return /^[0-9a-f]{64}\.(part|rec)$/.test(name);
}

/**
 * Removes every staged file of `staging` whose modification time is older
 * than `now - maxAgeMs`, with its record, and records left without data;
 * skips the ids `inUse` names, which live sessions hold. Returns how many
 * were removed and their total size.
 *
 * @param maxAgeMs How long kept data may stay untouched before it is
 *   considered abandoned; it must outlast any pause of a live transfer.
 * @throws {RangeError} If `maxAgeMs` is negative or not a finite number.
 */
export function removeStalePartials(
  staging: Staging,
  maxAgeMs: number,
  inUse: (id: string) => boolean = () => false,
  now: number = Date.now(),
): CleanupResult {
  // A negative or NaN age would remove files that are being written now.
  if (!Number.isFinite(maxAgeMs) || maxAgeMs < 0) {
    throw new RangeError(`Invalid maximum age ${maxAgeMs} ms`);
  }
  const cutoff = now - maxAgeMs;
  const result: CleanupResult = { removed: 0, bytes: 0, errors: [] };
  const names = new Set(
    fs.readdirSync(staging.folder.self).filter(isStagedName),
  );
  for (const name of names) {
    const id = name.slice(0, 64);
    if (inUse(id)) continue;
    const isPart = name.endsWith(PART_SUFFIX);
    // A record goes with its data, or alone once its data is gone.
    if (!isPart && names.has(id + PART_SUFFIX)) continue;
    const info = staging.folder.lstat(name);
    if (info === undefined || !info.isFile()) continue;
    if (info.mtimeMs >= cutoff) continue;
    try {
      if (isPart) fs.unlinkSync(staging.folder.entry(name));
      staging.removeRecord(id, names.has(id + RECORD_SUFFIX));
    } catch (error) {
      if (errorCode(error) === "ENOENT") continue;
      result.errors.push(
        `Cannot remove kept data ${name}: ${publicMessage(error)}`,
      );
      continue;
    }
    if (isPart) {
      result.removed++;
      result.bytes += info.size;
    }
  }
  return result;
}
