/**
 * The one line either program ends with after an error: its own messages
 * as they are, and a raw operating-system error ("Read-only file system
 * (os error 30): mkdir 'x'") as a sentence that says what could not be
 * done, why, and what to do about it.
 *
 * @module
 */

import { errorMessage } from "../common/errors.ts";
import { quote } from "../protocol/text.ts";
import { osErrorSubject, osReason, osWayOut } from "../common/os_errors.ts";

/** What each operation an error quotes was doing, as a verb. */
const VERBS: Record<string, string> = {
  mkdir: "create the folder",
  open: "open",
  read: "read",
  readfile: "read",
  write: "write",
  writefile: "write",
  copyfile: "write",
  rename: "rename",
  link: "save",
  unlink: "remove",
  remove: "remove",
  rmdir: "remove",
  stat: "look at",
  lstat: "look at",
  realpath: "look at",
  chmod: "change the mode of",
  chown: "change the owner of",
};

/**
 * `error` on one line, with the way out when it is a raw OS error (one
 * with its errno name as `code`, as both APIs raise them); the tool's own
 * errors, which may quote an OS error's text, are left as they are.
 */
export function explain(error: unknown): string {
  const raw = typeof (error as { code?: unknown } | null)?.code === "string";
  const reason = raw ? osReason(error) : undefined;
  if (reason === undefined) return errorMessage(error);
  const way = osWayOut(error);
  const cause = `${reason}${way === undefined ? "" : `; ${way}`}`;
  const subject = osErrorSubject(error);
  if (subject === undefined) {
    return cause.charAt(0).toUpperCase() + cause.slice(1);
  }
  const verb = VERBS[subject.operation] ?? subject.operation;
  const what = subject.path === undefined ? "" : ` ${quote(subject.path)}`;
  return `Cannot ${verb}${what}: ${cause}`;
}
