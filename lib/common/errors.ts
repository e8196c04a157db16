/**
 * Error classes shared by the client and the server, and the one-line text
 * shown for any error.
 *
 * @module
 */

/** Raised for a command-line value that cannot be used; exit code 2. */
export class UsageError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Raised when the peer reported a fatal error in an error message. */
export class RemoteError extends Error {
  /** Creates the error with the peer's message, already made safe to show. */
  constructor(message: string) {
    super(message);
    this.name = "RemoteError";
  }
}

/** Raised for a source path the client cannot send. */
export class SourceError extends Error {
  /** Creates the error with a one-line message naming the path. */
  constructor(message: string) {
    super(message);
    this.name = "SourceError";
  }
}

/** Why a file could not be read, in a few words, without its path. */
export function fileErrorReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Deno.errors.NotFound || code === "ENOENT") {
    return "no such file";
  }
  if (
    error instanceof Deno.errors.PermissionDenied || code === "EACCES" ||
    code === "EPERM"
  ) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory || code === "EISDIR") {
    return "it is a folder";
  }
  return publicMessage(error);
}

/**
 * The message of any thrown value on one line, without the operation and
 * path that an operating-system error quotes, so that it can be shown to
 * the peer: "No space left on device (os error 28): write '/srv/…'" and
 * node:fs's "ENOSPC: no space left on device, write '/srv/…'" both become
 * "No space left on device".
 */
export function publicMessage(error: unknown): string {
  const text = errorMessage(error);
  // node:fs says "ENOSPC: no space left on device, write '/srv/…'".
  const node = text.match(/^E[A-Z]+: (.+?), [a-z]+(?: '.*)?$/);
  if (node) return node[1].charAt(0).toUpperCase() + node[1].slice(1);
  return text.replace(/ \(os error \d+\).*$/, "");
}

/** The message of any thrown value, on one line. */
export function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0];
}
