/**
 * Files made without a name (Linux's `O_TMPFILE`) and named later from
 * their open descriptor (`linkat` of `/proc/self/fd/N`, following it).
 *
 * A small file staged this way costs two fewer changes to a folder and
 * two fewer checks than one made under a staging name, linked to its own
 * name and then unlinked: nothing else can ever reach it before it has its
 * name, so that the name it gets is exactly the file that was written,
 * with nothing to check first, and a crash leaves nothing behind.
 *
 * Node's file calls have no `linkat`, so it is called from the C library
 * through Deno's foreign function interface; where that is not allowed
 * (without `--allow-ffi`), not Linux on x86-64 or Arm64, or the file
 * system makes no unnamed files, {@link unnamedFiles} says so and files
 * get a staging name as before.
 *
 * @module
 */

import fs from "node:fs";
import { actsByDescriptor } from "./folder_handle.ts";

/** `O_TMPFILE` on Linux for x86-64 and Arm64 (with its `O_DIRECTORY`). */
const O_TMPFILE = 0o20200000;

/** `linkat`'s "the current folder" and "follow a final link". */
const AT_FDCWD = -100;
const AT_SYMLINK_FOLLOW = 0x400;

/** Linux errno values `linkat` fails with, as node:fs names them. */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  13: "EACCES",
  17: "EEXIST",
  18: "EXDEV",
  20: "ENOTDIR",
  28: "ENOSPC",
  30: "EROFS",
  31: "EMLINK",
  36: "ENAMETOOLONG",
  40: "ELOOP",
  95: "EOPNOTSUPP",
  122: "EDQUOT",
};

const SYMBOLS = {
  linkat: {
    parameters: ["i32", "buffer", "i32", "buffer", "i32"],
    result: "i32",
  },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Library = Deno.DynamicLibrary<typeof SYMBOLS>;

/** The C library, once loaded; null where it cannot be. */
let library: Library | null | undefined;

const encoder = new TextEncoder();

/** `text` as a C string. */
function cString(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text + "\0");
}

function loadLibrary(): Library | null {
  if (library !== undefined) return library;
  library = null;
  const arch = Deno.build.arch;
  if (
    Deno.build.os !== "linux" || (arch !== "x86_64" && arch !== "aarch64") ||
    !actsByDescriptor()
  ) return library;
  // Asked first: a prompt, or a denial's message, would be worse than
  // staging files under names.
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return library;
  }
  try {
    library = Deno.dlopen("libc.so.6", SYMBOLS);
  } catch {
    // Another C library (musl): files get staging names.
  }
  return library;
}

/** Raised when an unnamed file cannot be given a name. */
export class LinkError extends Error {
  /** The errno name, such as "EEXIST", as node:fs errors have it. */
  readonly code: string;

  /** Creates the error; `code` names the errno. */
  constructor(code: string) {
    super(`${code}: cannot give the staged file its name`);
    this.name = "LinkError";
    this.code = code;
  }
}

/** Whether files can be made without a name here, as far as is known. */
export function unnamedFiles(): boolean {
  return loadLibrary() !== null;
}

/**
 * A new file without a name in `folder` (a path of an open folder), open
 * for writing with `mode`; null when none can be made there, as where the
 * file system makes no unnamed files (a file made with a name then says
 * what else may be wrong).
 */
export function createUnnamed(folder: string, mode: number): number | null {
  if (loadLibrary() === null) return null;
  try {
    return fs.openSync(folder, fs.constants.O_WRONLY | O_TMPFILE, mode);
  } catch {
    return null;
  }
}

/**
 * Gives the file open as `fd` the name `target` (a path whose folder is
 * reached by descriptor), never replacing anything there: a
 * {@link LinkError} with code "EEXIST" says something has that name.
 */
export function linkDescriptor(fd: number, target: string): void {
  const libc = loadLibrary();
  if (libc === null) throw new LinkError("ENOSYS");
  const result = libc.symbols.linkat(
    AT_FDCWD,
    cString(`/proc/self/fd/${fd}`),
    AT_FDCWD,
    cString(target),
    AT_SYMLINK_FOLLOW,
  );
  if (result === 0) return;
  // Read at once, on the thread that made the call.
  const pointer = libc.symbols.__errno_location();
  const errno = pointer === null
    ? 0
    : new Deno.UnsafePointerView(pointer).getInt32();
  throw new LinkError(ERRNO_NAMES[errno] ?? `errno ${errno}`);
}
