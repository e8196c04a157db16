/**
 * The code a server made up, kept in its private staging folder so that
 * the next start with the same destination has the same one: a client
 * still retrying, or one given the code earlier, then gets through.
 *
 * The file is the server's own: created exclusively under a new name and
 * renamed into place, 0600, and read only through a descriptor that was
 * opened without following a link and is checked to be a regular file of
 * the server's user, open to no one else, with one link. Anything else in
 * its place is set aside with one line, and a new code made.
 *
 * @module
 */

import fs from "node:fs";
import { normalizeCode } from "../secure/code.ts";
import { errorCode } from "./folder_handle.ts";
import type { Staging } from "./staging.ts";

/** Name of the file that holds the code, inside the staging folder. */
export const CODE_FILE = "code";

/** Longest code file read: a code is a few dozen bytes. */
const MAX_CODE_BYTES = 1024;

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL } = fs.constants;
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
// A FIFO in its place would block an open for reading forever.
const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0;

/** What was found where the code is kept. */
export interface SavedCode {
  /** The code kept by an earlier start; null when there is none to use. */
  code: string | null;
  /** Why something in its place was not used, in one line; else null. */
  ignored: string | null;
}

/** Why the open file `fd` is not a code file this server wrote, or null. */
function untrusted(fd: number, staging: Staging): string | null {
  const info = fs.fstatSync(fd);
  if (!info.isFile()) return "it is not a regular file";
  if (Deno.build.os === "windows") return null;
  if (info.uid !== staging.uid) return "it belongs to another user";
  if ((info.mode & 0o077) !== 0) {
    return `it is open to other users (mode ${
      (info.mode & 0o777).toString(8)
    })`;
  }
  if (info.nlink !== 1) return "it has more than one link";
  if (info.size > MAX_CODE_BYTES) return "it is too large";
  return null;
}

/**
 * The code kept in `staging` by an earlier start, if there is one this
 * server can trust; `shown` names the staging folder in the line that says
 * why something else in its place was ignored.
 */
export function readSavedCode(staging: Staging, shown: string): SavedCode {
  const path = `${shown}/${CODE_FILE}`;
  let fd: number;
  try {
    fd = fs.openSync(
      staging.folder.entry(CODE_FILE),
      O_RDONLY | O_NOFOLLOW | O_NONBLOCK,
    );
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT") return { code: null, ignored: null };
    if (code === "ELOOP" || code === "EMLINK") {
      return {
        code: null,
        ignored: `ignored ${path}: it is a symbolic link; a new code was made`,
      };
    }
    throw error;
  }
  try {
    const why = untrusted(fd, staging);
    if (why !== null) {
      return {
        code: null,
        ignored:
          `ignored ${path}: ${why}, not a code this server kept; a new code was made`,
      };
    }
    const text = fs.readFileSync(fd, "utf8");
    try {
      return { code: normalizeCode(text.split("\n")[0]), ignored: null };
    } catch {
      return {
        code: null,
        ignored:
          `ignored ${path}: it holds no usable code; a new code was made`,
      };
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Keeps `code` in `staging` for the next start, in place of whatever was
 * there: written to a new file only this user can read, then renamed, so
 * that a crash leaves the old file or the new one, never half of one.
 */
export function saveCode(staging: Staging, code: string): void {
  const temporary = `${CODE_FILE}-${crypto.randomUUID()}.tmp`;
  const fd = fs.openSync(
    staging.folder.entry(temporary),
    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
    0o600,
  );
  try {
    fs.writeSync(fd, `${code}\n`);
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.unlinkSync(staging.folder.entry(temporary));
    throw error;
  }
  fs.closeSync(fd);
  try {
    // A rename replaces a file or a link, not a folder in the way.
    if (staging.folder.lstat(CODE_FILE)?.isDirectory()) {
      fs.rmdirSync(staging.folder.entry(CODE_FILE));
    }
    fs.renameSync(
      staging.folder.entry(temporary),
      staging.folder.entry(CODE_FILE),
    );
  } catch (error) {
    fs.unlinkSync(staging.folder.entry(temporary));
    throw error;
  }
}
