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
 * (without `--allow-ffi`), not Linux on x86-64 or Arm64 with glibc, or the
 * file system makes no unnamed files, files get a staging name as before.
 *
 * @module
 */

import fs from "node:fs";
import { linuxErrnoName, osReason } from "../common/os_errors.ts";
import { actsByDescriptor, errorCode } from "./folder_handle.ts";

/** `linkat`'s "the current folder" and "follow a final link". */
const AT_FDCWD = -100;
const AT_SYMLINK_FOLLOW = 0x400;

const SYMBOLS = {
  linkat: {
    parameters: ["i32", "buffer", "i32", "buffer", "i32"],
    result: "i32",
  },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** What is needed of the C library, once loaded. */
interface Library {
  linkat: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"]["linkat"];
  /** The calling thread's errno, read right after a failed call. */
  errno: Deno.UnsafePointerView;
}

/** The C library; null where it cannot be had. */
let library: Library | null | undefined;

const encoder = new TextEncoder();

/** Errors of an `O_TMPFILE` open that say the file system makes none. */
const UNSUPPORTED = new Set(["EOPNOTSUPP", "ENOTSUP", "EISDIR", "EINVAL"]);

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
    const { symbols } = Deno.dlopen("libc.so.6", SYMBOLS);
    const pointer = symbols.__errno_location();
    if (pointer !== null) {
      library = {
        linkat: symbols.linkat,
        errno: new Deno.UnsafePointerView(pointer),
      };
    }
  } catch {
    // Another C library (musl): files get staging names.
  }
  return library;
}

/** Raised when an unnamed file cannot be given a name. */
export class LinkError extends Error {
  /** The errno name, such as "EEXIST", as node:fs errors have it. */
  readonly code: string;

  /** Creates the error for `code`, in node:fs's form ("ENOSPC: ..."). */
  constructor(code: string) {
    const reason = osReason({ code }) ?? "cannot give the file its name";
    super(`${code}: ${reason}, link`);
    this.name = "LinkError";
    this.code = code;
  }
}

/** Raised when a folder's file system makes no unnamed files. */
export class UnnamedUnsupportedError extends Error {
  /** Creates the error. */
  constructor() {
    super("The file system makes no unnamed files");
    this.name = "UnnamedUnsupportedError";
  }
}

/** Whether files may be made without a name here, as far as is known. */
export function unnamedFiles(): boolean {
  return loadLibrary() !== null;
}

/**
 * A new file without a name in `folder` (a path of an open folder), open
 * for writing with `mode`; null when this program cannot make them at
 * all. Throws {@link UnnamedUnsupportedError} when that folder's file
 * system makes none, and node:fs's error for any other failure.
 */
export function createUnnamed(folder: string, mode: number): number | null {
  if (loadLibrary() === null) return null;
  // `__O_TMPFILE` is the same on x86-64 and Arm64; `O_DIRECTORY` is not.
  const flags = 0o20000000 | fs.constants.O_DIRECTORY | fs.constants.O_WRONLY;
  try {
    return fs.openSync(folder, flags, mode);
  } catch (error) {
    const code = errorCode(error);
    if (code !== undefined && UNSUPPORTED.has(code)) {
      throw new UnnamedUnsupportedError();
    }
    throw error;
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
  // A C string ends at the first NUL: such a name would be another one.
  if (target.includes("\0")) throw new LinkError("EINVAL");
  const source = encoder.encode(`/proc/self/fd/${fd}\0`);
  const name = encoder.encode(`${target}\0`);
  if (libc.linkat(AT_FDCWD, source, AT_FDCWD, name, AT_SYMLINK_FOLLOW) === 0) {
    return;
  }
  // Read before anything else can run on this thread and change it.
  const errno = libc.errno.getInt32();
  throw new LinkError(linuxErrnoName(errno) ?? `E${errno}`);
}
