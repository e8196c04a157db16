/**
 * The record `ID.rec` beside kept data `ID.part` in the staging folder: a
 * small JSON file that says which path the data belongs to and which inode
 * the server wrote it as, so that data is adopted only when it is exactly
 * what the server itself wrote for that path.
 *
 * @module
 */

import fs from "node:fs";
import { errorCode } from "./folder_handle.ts";

/** Longest record the server writes, with room to spare. */
const MAX_RECORD_BYTES = 64 * 1024;

const { O_RDONLY, O_WRONLY, O_CREAT, O_TRUNC } = fs.constants;
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

/** What a record holds. */
export interface StagedRecord {
  /** The name key of the path. */
  key: string;
  /** Device of the kept data. */
  dev: number;
  /** Its inode. */
  ino: number;
}

/** Writes `record` to `path`, never through a link. */
export function writeStagedRecord(path: string, record: StagedRecord): void {
  const fd = fs.openSync(
    path,
    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
    0o600,
  );
  try {
    fs.writeSync(fd, JSON.stringify(record));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The record at `path`; null when there is none or it cannot be trusted
 * (a link, not a regular file, too long, torn or of another shape).
 */
export function readStagedRecord(path: string): StagedRecord | null {
  let fd: number;
  try {
    fd = fs.openSync(path, O_RDONLY | O_NOFOLLOW);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return null;
    throw error;
  }
  try {
    const info = fs.fstatSync(fd);
    if (!info.isFile() || info.size > MAX_RECORD_BYTES) return null;
    const value = JSON.parse(fs.readFileSync(fd, "utf8"));
    if (
      typeof value?.key !== "string" || typeof value.dev !== "number" ||
      typeof value.ino !== "number"
    ) return null;
    return value as StagedRecord;
  } catch {
    // A torn record, as after a crash: its data is not trusted.
    return null;
  } finally {
    fs.closeSync(fd);
  }
}
