/**
 * The receiver's folders, made before the decisions go out: one that
 * cannot be made is refused with what the manifest lists below it, and
 * the files so refused give their claims back to other sessions. Real
 * destinations on disk; a file put where a folder was decided plays a
 * folder that cannot be made.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Destination } from "../lib/store/destination.ts";
import { DestinationRoot } from "../lib/store/destination_root.ts";
import { EntryList } from "../lib/protocol/entry_list.ts";
import type { Decision } from "../lib/protocol/messages.ts";
import { makeFolders } from "../lib/transfer/receive_folders.ts";
import { fileEntry, folderEntry } from "./hostile_client.ts";
import { tempDir } from "./helpers.ts";

Deno.test("a folder that cannot be made is refused with what lies below it, and their claims go back", async () => {
  await using dest = await tempDir();
  const root = await DestinationRoot.open(dest.path, false);
  const other = new Destination(root);
  const session = new Destination(root);
  try {
    // Another session is sending a/held.txt: this one is told to wait.
    assert.equal(
      (await other.decide(fileEntry("a/held.txt", 1))).action,
      "send",
    );
    const entries = new EntryList([
      folderEntry("a"),
      fileEntry("a/x.txt", 1),
      folderEntry("a/b"),
      fileEntry("a/b/y.txt", 1),
      fileEntry("a/held.txt", 1),
      fileEntry("a/unlisted/z.txt", 1),
      folderEntry("c"),
      fileEntry("c/ok.txt", 1),
    ]);
    const decisions: Decision[] = [];
    for (const entry of entries) decisions.push(await session.decide(entry));
    assert.deepEqual(decisions[4], {
      action: "refuse",
      reason: "another client is sending this file right now",
      later: true,
    });
    assert.ok(root.isClaimed(root.key("a/x.txt")));
    // Where folder "a" was to be made, a file appeared meanwhile.
    await Deno.writeTextFile(join(dest.path, "a"), "in the way");
    await makeFolders(session, entries, decisions);
    const below = {
      action: "refuse",
      reason: 'its folder "a" cannot be created',
    };
    assert.deepEqual(decisions, [
      {
        action: "refuse",
        reason: 'cannot be created: "a" is not a folder on the server',
      },
      below,
      below,
      below,
      // Waiting for it would be waiting for a folder that cannot be.
      below,
      // Not listed below "a": decided as usual, it fails when it comes.
      { action: "send", offset: 0 },
      { action: "accept" },
      { action: "send", offset: 0 },
    ]);
    assert.ok(!root.isClaimed(root.key("a/x.txt")), "a/x.txt given back");
    assert.ok(!root.isClaimed(root.key("a/b/y.txt")), "a/b/y.txt given back");
    assert.ok(root.isClaimed(root.key("a/held.txt")), "the other's claim");
    assert.ok(root.isClaimed(root.key("c/ok.txt")));
    assert.ok((await Deno.stat(join(dest.path, "c"))).isDirectory);
    // Given back once: claimed by another session since, it stays so
    // when this session ends.
    assert.ok(root.claim(root.key("a/x.txt")));
    session.release();
    assert.ok(root.isClaimed(root.key("a/x.txt")));
    assert.ok(root.isClaimed(root.key("a/held.txt")));
    root.unclaim(root.key("a/x.txt"));
  } finally {
    for (const each of [other, session]) each.release();
    root.close();
  }
});
