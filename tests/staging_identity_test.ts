/**
 * The staging folder's checks that staged data is still the very file the
 * receiver wrote, on real files: another file, a second link or a link in
 * its place, and kept data that changed length, are all refused.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { FolderHandle } from "../lib/store/folder_handle.ts";
import {
  PART_SUFFIX,
  Staging,
  STAGING_NAME,
  StagingError,
} from "../lib/store/staging.ts";
import { tempDir } from "./helpers.ts";

/** A staging folder in a new temporary destination. */
function staging(tmp: { path: string }): {
  staging: Staging;
  folder: string;
  root: FolderHandle;
} {
  const root = FolderHandle.open(tmp.path);
  return {
    staging: Staging.open(root),
    folder: join(tmp.path, STAGING_NAME),
    root,
  };
}

Deno.test("staged data is held only while it is the very file written", async () => {
  await using tmp = await tempDir();
  const { staging: s, folder, root } = staging(tmp);
  try {
    const { staged, file } = s.create("a.bin");
    file.writeSync(new Uint8Array(10));
    file.close();
    const part = join(folder, staged.id + PART_SUFFIX);
    assert.equal(s.holds(staged), true);
    // A second link to it: someone else could change it through that.
    await Deno.link(part, join(folder, "other"));
    assert.equal(s.holds(staged), false);
    await Deno.remove(join(folder, "other"));
    assert.equal(s.holds(staged), true);
    // Another file under its name.
    await Deno.rename(part, join(folder, "moved"));
    await Deno.writeFile(part, new Uint8Array(10));
    assert.equal(s.holds(staged), false);
    // A link in its place, to the very file that was written.
    await Deno.remove(part);
    await Deno.symlink(join(folder, "moved"), part);
    assert.equal(s.holds(staged), false);
    // Nothing there.
    await Deno.remove(part);
    assert.equal(s.holds(staged), false);
  } finally {
    s.folder.release();
    root.release();
  }
});

Deno.test("kept data is found and reopened only as the file recorded", async () => {
  await using tmp = await tempDir();
  const { staging: s, folder, root } = staging(tmp);
  try {
    const { staged, file } = s.create("b.bin");
    file.writeSync(new Uint8Array(7).fill(1));
    file.close();
    s.writeRecord("b.bin", staged);
    const kept = s.findKept("b.bin");
    assert.deepEqual(kept, { ...staged, length: 7 });
    s.openKept(kept!, "b.bin", true).close();
    const part = join(folder, staged.id + PART_SUFFIX);
    // Grown since it was found: not the data that was offered.
    await Deno.writeFile(part, new Uint8Array(1), { append: true });
    assert.throws(
      () => s.openKept(kept!, "b.bin", true),
      (error: Error) =>
        error instanceof StagingError &&
        error.message ===
          'The kept data of "b.bin" changed on the server',
    );
    assert.equal(s.findKept("b.bin")?.length, 8);
    // Replaced by another file (made while the first still exists, so
    // that it has an inode of its own): its record names another inode.
    await Deno.writeFile(join(folder, "fresh"), new Uint8Array(8));
    await Deno.rename(join(folder, "fresh"), part);
    assert.equal(s.findKept("b.bin"), null);
  } finally {
    s.folder.release();
    root.release();
  }
});
