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
import { stagedPath, startServer, tempDir } from "./helpers.ts";
import { fileEntry, HostileClient } from "./hostile_client.ts";
import { bytes, offer } from "./hostile_harness.ts";

/** Whether unnamed files can be made here; says why not when they cannot. */
function canRun(): boolean {
  if (unnamedFiles()) return true;
  console.log(
    "skipped: no unnamed files here (not Linux on x86-64 or Arm64 with glibc, or no --allow-ffi)",
  );
  return false;
}

Deno.test("an unnamed file is named from its descriptor, never over anything", async (t) => {
  if (!canRun()) return;
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
  if (!canRun()) return;
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
  const descriptors = `/proc/${server.child.pid}/fd`;
  let unnamed: string | null = null;
  for (let tries = 0; unnamed === null && tries < 500; tries++) {
    for (const entry of Deno.readDirSync(descriptors)) {
      const target = await Deno.readLink(`${descriptors}/${entry.name}`)
        .catch(() => "");
      if (target.startsWith(`${staging}/`) && target.endsWith(" (deleted)")) {
        unnamed = `${descriptors}/${entry.name}`;
      }
    }
    if (unnamed === null) await new Promise((done) => setTimeout(done, 10));
  }
  assert.notEqual(unnamed, null, "an unnamed staged file is open");
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
