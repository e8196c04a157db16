/**
 * The open folders a FolderTree keeps, on real folders: beyond its cache
 * it closes the one reached longest ago, and a folder reached again stays.
 *
 * @module
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import {
  CACHED_FOLDERS as CACHED,
  FolderHandle,
  FolderTree,
} from "../lib/store/folder_handle.ts";
import { tempDir } from "./helpers.ts";

Deno.test("a folder tree closes the folder reached longest ago, not the first opened", async () => {
  await using tmp = await tempDir();
  const root = FolderHandle.open(tmp.path);
  const tree = new FolderTree(root);
  const reach = (name: string): FolderHandle => {
    const folder = tree.get(name, true);
    folder.release();
    return folder;
  };
  try {
    const first = reach("f0");
    const second = reach("f1");
    for (let i = 2; i < CACHED; i++) reach(`f${i}`);
    // f0 reached again: f1 is now the one reached longest ago.
    assert.equal(reach("f0"), first);
    reach(`f${CACHED}`);
    assert.equal(reach("f0"), first, "the folder reached again stays open");
    assert.notEqual(reach("f1"), second, "f1 was closed and opened anew");
  } finally {
    tree.close();
    root.release();
  }
});

Deno.test("a folder evicted while a caller holds it stays open for that caller alone", async () => {
  await using tmp = await tempDir();
  const root = FolderHandle.open(tmp.path);
  const tree = new FolderTree(root);
  try {
    const held = tree.get("kept", true);
    for (let i = 0; i < CACHED; i++) tree.get(`f${i}`, true).release();
    const fd = held.fd;
    assert.ok(fd !== null);
    // Evicted from the tree, yet still the caller's open folder.
    assert.ok(fs.fstatSync(fd).isDirectory());
    const again = tree.get("kept");
    assert.notEqual(again, held, "the tree opened the folder anew");
    again.release();
    held.release();
    assert.throws(() => fs.fstatSync(fd), { code: "EBADF" });
  } finally {
    tree.close();
    root.release();
  }
});
