/**
 * Operating-system errors a user can cause (a full disk, a read-only
 * folder, a file where a folder should be, an address no machine answers),
 * recognised by their errno name whichever API raised them (Deno's
 * "Read-only file system (os error 30): mkdir 'x'" or node:fs's "EROFS:
 * read-only file system, mkdir 'x'"), and said in a few plain words.
 *
 * @module
 */

/** Linux errno numbers, for an error that carries only its message. */
const LINUX_ERRNO: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  13: "EACCES",
  17: "EEXIST",
  18: "EXDEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  27: "EFBIG",
  28: "ENOSPC",
  30: "EROFS",
  31: "EMLINK",
  36: "ENAMETOOLONG",
  40: "ELOOP",
  95: "EOPNOTSUPP",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  101: "ENETUNREACH",
  104: "ECONNRESET",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
  122: "EDQUOT",
};

/** What each error means, in a few words without the path. */
const REASONS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "not permitted",
  EROFS: "the file system is read-only",
  ENOSPC: "no space left on the disk",
  EDQUOT: "the disk quota is used up",
  EFBIG: "the file is too large for that file system",
  EEXIST: "something else already has that name",
  ENOTDIR: "a file is where a folder should be",
  EISDIR: "it is a folder",
  ENOENT: "no such file or folder",
  ENAMETOOLONG: "the name is too long",
  ELOOP: "too many symbolic links",
  EMFILE: "too many open files",
  ENFILE: "too many open files",
  EIO: "input/output error (the disk may be failing)",
};

/**
 * What to do about each error, as said to the user who caused it; the
 * contexts that know the flag involved say it better.
 */
const WAYS_OUT: Record<string, string> = {
  EACCES:
    "this user may not do that there: choose a place of your own, or change the permissions",
  EPERM:
    "this user may not do that there: choose a place of your own, or change the permissions",
  EROFS: "choose a place on a writable disk",
  ENOSPC: "free some space, or choose another disk",
  EDQUOT: "free some space, or choose another disk",
  EFBIG: "choose a disk whose file system takes large files",
  EEXIST: "choose another name, or move what is there away",
  ENOTDIR: "check the path",
  ENOENT: "check the path",
  ENAMETOOLONG: "choose a shorter name",
  ELOOP: "check the links in the path",
  EMFILE: "raise the limit of open files (ulimit -n)",
  ENFILE: "close other programs, or raise the system's limit of open files",
  EIO: "check the disk (dmesg)",
};

/**
 * The errno name of an operating-system error, such as "EACCES", from
 * either API; undefined for anything else.
 */
export function osErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^E[A-Z0-9]+$/.test(code)) return code;
  const text = error instanceof Error ? error.message : String(error);
  // node:fs's "EROFS: read-only file system, mkdir '...'".
  const named = /^(E[A-Z0-9]+): /.exec(text);
  if (named !== null) return named[1];
  const errno = / \(os error (\d+)\)/.exec(text);
  if (errno === null || Deno.build.os !== "linux") return undefined;
  return LINUX_ERRNO[Number(errno[1])];
}

/** The errno name of the Linux error number `errno`, if it is one listed. */
export function linuxErrnoName(errno: number): string | undefined {
  return LINUX_ERRNO[errno];
}

/**
 * What an operating-system error means, in a few lower-case words without
 * its path ("the file system is read-only"); undefined when it is not one
 * a user can cause.
 */
export function osReason(error: unknown): string | undefined {
  const code = osErrorCode(error);
  return code === undefined ? undefined : REASONS[code];
}

/** What the user can do about an operating-system error, if known. */
export function osWayOut(error: unknown): string | undefined {
  const code = osErrorCode(error);
  return code === undefined ? undefined : WAYS_OUT[code];
}

/**
 * The operation and path an operating-system error quotes, as in "mkdir
 * 'ro/sub'"; the path is left out when it names a descriptor
 * (/proc/self/fd/N/...), which means nothing to a user.
 */
export function osErrorSubject(
  error: unknown,
): { operation: string; path?: string } | undefined {
  const text = error instanceof Error ? error.message : String(error);
  const match = /[:,] ([a-z]+) '(.*)'$/.exec(text.split("\n")[0]);
  if (match === null) return undefined;
  const path = match[2].startsWith("/proc/self/fd/") ? undefined : match[2];
  return { operation: match[1], path };
}
