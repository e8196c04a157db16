/**
 * Files staged without a name (lib/store/unnamed_files.ts): named only
 * from their own descriptor, never over anything, and never visible in the
 * staging folder until they are kept.
 *
 * @module
 */

import assert from "node:assert/strict";
import fs from "node:fs";
import { join } from "node:path";
import {
  createUnnamed,
  linkDescriptor,
  LinkError,
  unnamedFiles,
} from "../lib/store/unnamed_files.ts";
import { STAGING_NAME } from "../lib/store/staging.ts";
import {
  openStagedFiles,
  sleep,
  stagedPath,
  startServer,
  tempDir,
} from "./helpers.ts";
import { fileEntry, HostileClient } from "./hostile_client.ts";
import { bytes, offer, sha256 } from "./hostile_harness.ts";

/**
 * Whether unnamed files can be made here, in the folder temporary folders
 * go in; says why not when they cannot.
 */
async function canRun(): Promise<boolean> {
  let reason = "not Linux on x86-64 or Arm64 with glibc, or no --allow-ffi";
  if (unnamedFiles()) {
    await using probe = await tempDir();
    try {
      const fd = createUnnamed(probe.path, 0o600);
      if (fd !== null) {
        fs.closeSync(fd);
        return true;
      }
    } catch (error) {
      reason = `the temporary folder's file system makes none (${error})`;
    }
  }
  console.log(`skipped: no unnamed files here: ${reason}`);
  return false;
}

/** Waits for `found` to give a value, until a deadline a loaded machine meets. */
async function eventually<T>(found: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await found();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("Gave up waiting");
    await sleep(10);
  }
}

Deno.test("an unnamed file is named from its descriptor, never over anything", async (t) => {
  if (!await canRun()) return;
  await using tmp = await tempDir();
  const folder = join(tmp.path, "folder");
  await Deno.mkdir(folder);
  const data = new TextEncoder().encode("exactly these bytes");

  await t.step("it has no name until linked, then exactly its bytes", () => {
    const fd = createUnnamed(folder, 0o600);
    assert.notEqual(fd, null);
    try {
      fs.writeSync(fd!, data);
      assert.deepEqual(fs.readdirSync(folder), []);
      linkDescriptor(fd!, join(folder, "named"));
      assert.deepEqual(fs.readdirSync(folder), ["named"]);
      assert.deepEqual(Deno.readFileSync(join(folder, "named")), data);
      assert.equal(
        fs.statSync(join(folder, "named")).ino,
        fs.fstatSync(fd!).ino,
      );
    } finally {
      fs.closeSync(fd!);
    }
  });

  await t.step("a name already taken, even by a link, is left alone", () => {
    const outside = join(tmp.path, "outside.txt");
    Deno.writeTextFileSync(outside, "untouched");
    Deno.symlinkSync(outside, join(folder, "planted"));
    const fd = createUnnamed(folder, 0o600)!;
    try {
      fs.writeSync(fd, data);
      for (const name of ["named", "planted"]) {
        assert.throws(
          () => linkDescriptor(fd, join(folder, name)),
          (error: unknown) =>
            error instanceof LinkError && error.code === "EEXIST",
        );
      }
    } finally {
      fs.closeSync(fd);
    }
    assert.equal(Deno.readTextFileSync(outside), "untouched");
    assert.equal(Deno.readLinkSync(join(folder, "planted")), outside);
    assert.equal(
      Deno.readTextFileSync(join(folder, "named")),
      "exactly these bytes",
    );
  });

  await t.step("a missing folder fails with its errno name", () => {
    const fd = createUnnamed(folder, 0o600)!;
    try {
      assert.throws(
        () => linkDescriptor(fd, join(folder, "gone", "x")),
        (error: unknown) =>
          error instanceof LinkError && error.code === "ENOENT",
      );
    } finally {
      fs.closeSync(fd);
    }
  });
});

Deno.test("the server stages a small file without a name, and names it only to keep it", async () => {
  if (!await canRun()) return;
  await using tmp = await tempDir();
  const dest = join(tmp.path, "dest");
  await Deno.mkdir(dest);
  await using server = await startServer(["--dir", dest]);
  const staging = join(await Deno.realPath(dest), STAGING_NAME);
  const client = await HostileClient.connect(server.port);
  await client.handshake();
  await offer(client, [fileEntry("small.bin", 100)]);
  await client.send({ type: "file", index: 0, offset: 0 });
  await client.data(bytes(50));

  // The server holds a file in its staging folder open that has no name.
  await eventually(async () =>
    (await openStagedFiles(server.child.pid, dest)).find((file) =>
      file.target.endsWith(" (deleted)")
    )
  );
  assert.deepEqual(
    fs.readdirSync(staging).filter((name) => name.endsWith(".part")),
    [],
    "no staging name while the file arrives",
  );

  client.close();
  await server.waitFor(/kept 50 B of 100 B of "small\.bin"/);
  const kept = stagedPath(dest, "small.bin");
  assert.equal((await Deno.stat(kept)).size, 50);
  assert.deepEqual(await Deno.readFile(kept), bytes(50));
});

Deno.test("a name taken while an unnamed file arrives is left alone, and that file alone fails", async () => {
  if (!await canRun()) return;
  await using tmp = await tempDir();
  const dest = join(tmp.path, "dest");
  await Deno.mkdir(dest);
  const outside = join(tmp.path, "outside.txt");
  await Deno.writeTextFile(outside, "untouched");
  await using server = await startServer(["--dir", dest]);
  const client = await HostileClient.connect(server.port);
  await client.handshake();
  await offer(client, [fileEntry("taken.bin", 10), fileEntry("free.bin", 10)]);
  // Free when it was decided; taken, by a link out of the destination,
  // before its data is put in place.
  await Deno.symlink(outside, join(dest, "taken.bin"));
  for (const index of [0, 1]) {
    await client.send({ type: "file", index, offset: 0 });
    await client.data(bytes(10));
    await client.send({ type: "end", index, sha256: sha256(bytes(10)) });
  }
  await client.send({ type: "done" });
  const { messages } = await client.readToEnd();
  assert.deepEqual(messages, [
    {
      type: "failed",
      index: 0,
      message:
        'cannot save: Cannot save "taken.bin": something else appeared under its name',
    },
    { type: "verified", index: 1, sha256: sha256(bytes(10)) },
    { type: "summary", verified: 1, failed: 1 },
  ]);
  assert.equal(await Deno.readLink(join(dest, "taken.bin")), outside);
  assert.equal(await Deno.readTextFile(outside), "untouched");
  assert.deepEqual(await Deno.readFile(join(dest, "free.bin")), bytes(10));
  assert.deepEqual(
    (await openStagedFiles(server.child.pid, dest)).map((file) => file.target),
    [],
    "no staged file is left open",
  );
});
