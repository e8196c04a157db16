/**
 * The receiver's folders, made between the decisions and their sending:
 * a folder that cannot be made is refused like any entry, with what it
 * holds, instead of ending the session.
 *
 * @module
 */

import type { Decision } from "../protocol/messages.ts";
import type { EntryList } from "../protocol/entry_list.ts";
import { quote } from "../protocol/text.ts";
import type { FileStore } from "../store/file_store.ts";
import { parentOf } from "../store/folder_handle.ts";
import { Pacer } from "../common/pace.ts";

/**
 * Creates every accepted folder, in manifest order, before the decisions
 * go out (the caller sends `wait` meanwhile): one that cannot be created
 * is refused instead, and so is everything listed below it, so that the
 * sender is told and sends nothing for them, while the rest of the
 * session goes on. A file below a folder the manifest does not list
 * fails on its own when its data comes, as any file whose folder cannot
 * be made.
 */
export async function makeFolders(
  store: FileStore,
  entries: EntryList,
  decisions: Decision[],
): Promise<void> {
  // Each refused folder, with the refusal of what lies below it: that of
  // the outermost refused folder, which says why. Empty unless one is.
  const below = new Map<string, Decision>();
  const pacer = new Pacer();
  for (let index = 0; index < entries.length; index++) {
    const path = entries.path(index);
    const folder = entries.kind(index) === "folder";
    const decision = decisions[index];
    const inherited = below.size === 0 ? undefined : below.get(parentOf(path));
    if (inherited !== undefined) {
      // A final refusal of its own says more; one for later would only
      // have the sender wait for a folder that cannot be.
      if (decision.action !== "refuse" || decision.later === true) {
        if (decision.action !== "refuse") store.withdraw?.(path);
        decisions[index] = inherited;
      }
      if (folder) below.set(path, inherited);
    } else if (folder && decision.action !== "accept") {
      below.set(path, refusalBelow(path));
    } else if (folder) {
      const reason = store.makeFolder(path);
      if (reason !== null) {
        decisions[index] = { action: "refuse", reason };
        below.set(path, refusalBelow(path));
      }
    }
    await pacer.pace();
  }
}

function refusalBelow(folder: string): Decision {
  return Object.freeze({
    action: "refuse",
    reason: `its folder ${quote(folder)} cannot be created`,
  });
}
