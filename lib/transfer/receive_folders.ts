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
import { Pacer } from "../common/pace.ts";

/**
 * Creates every accepted folder, in manifest order, before the decisions
 * go out (the caller sends `wait` meanwhile): one that cannot be created
 * is refused instead, and so is everything below it, so that the sender
 * is told and sends nothing for them, while the rest of the session goes
 * on.
 */
export async function makeFolders(
  store: FileStore,
  entries: EntryList,
  decisions: Decision[],
): Promise<void> {
  // The folders refused so far: few, unless many failed.
  const refused = new Set<string>();
  const pacer = new Pacer();
  for (let index = 0; index < entries.length; index++) {
    const path = entries.path(index);
    const folder = entries.kind(index) === "folder";
    const parent = refusedParent(refused, path);
    if (parent !== null) {
      // A refusal of its own says more.
      if (decisions[index].action !== "refuse") {
        decisions[index] = {
          action: "refuse",
          reason: `its folder ${quote(parent)} cannot be created`,
        };
      }
      if (folder) refused.add(path);
    } else if (folder && decisions[index].action !== "accept") {
      refused.add(path);
    } else if (folder) {
      const reason = store.makeFolder(path);
      if (reason !== null) {
        decisions[index] = { action: "refuse", reason };
        refused.add(path);
      }
    }
    await pacer.pace();
  }
}

/**
 * The outermost refused folder that `path` is in, if any: the one whose
 * refusal says why.
 */
function refusedParent(refused: Set<string>, path: string): string | null {
  if (refused.size === 0) return null;
  for (let end = path.indexOf("/"); end > 0; end = path.indexOf("/", end + 1)) {
    const folder = path.slice(0, end);
    if (refused.has(folder)) return folder;
  }
  return null;
}
