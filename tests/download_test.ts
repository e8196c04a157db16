/**
 * The other direction: a server that shares files (`server.ts --share`)
 * and a client that gets them (`client.ts --get`), with everything the
 * upload direction has: verified, durable files under their names, resume
 * after a cut, automatic retries, no silent overwrite, and one clear line
 * when the two sides want the files to go opposite ways.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { waitForPause } from "./conditions.ts";
import { FaultProxy } from "./fault_proxy.ts";
import { fileEntry } from "./hostile_client.ts";
import { HostileSharer } from "./hostile_sharer.ts";
import {
  finish,
  listTree,
  randomFile,
  runClient,
  spawnClient,
  stagedFiles,
  startServer,
  tempDir,
} from "./helpers.ts";

const MiB = 1024 * 1024;

Deno.test("a shared folder and file arrive verified with --get, and the server then exits", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  await Deno.mkdir(join(source.path, "photos/2026"), { recursive: true });
  const beach = await randomFile(
    join(source.path, "photos/2026/beach.jpg"),
    300_000,
  );
  await Deno.writeTextFile(join(source.path, "notes.txt"), "shared notes\n");
  await Deno.chmod(join(source.path, "notes.txt"), 0o640);
  const server = await startServer([
    "--share",
    join(source.path, "photos"),
    join(source.path, "notes.txt"),
  ]);
  const client = await runClient([
    "--get",
    `127.0.0.1:${server.port}`,
    "--dir",
    dest.path,
  ]);
  assert.equal(client.code, 0, client.stderr);
  assert.match(client.stdout, /received {2}photos\/2026\/beach\.jpg/);
  assert.match(
    client.stdout,
    /^2 of 2 files received and verified, 0 already there, 0 failed$/m,
  );
  const exit = await server.exited();
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stdout, /sent photos\/2026\/beach\.jpg/);
  assert.deepEqual(await listTree(dest.path), [
    "notes.txt",
    "photos/",
    "photos/2026/",
    "photos/2026/beach.jpg",
  ]);
  assert.deepEqual(
    await Deno.readFile(join(dest.path, "photos/2026/beach.jpg")),
    beach,
  );
  assert.equal(
    (await Deno.stat(join(dest.path, "notes.txt"))).mode! & 0o777,
    0o640,
  );
  assert.deepEqual(await stagedFiles(dest.path), []);
});

Deno.test("a download cut in the middle resumes by itself and is verified", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const data = await randomFile(join(source.path, "big.bin"), 24 * MiB);
  await using server = await startServer([
    "--share",
    "--keep-sharing",
    join(source.path, "big.bin"),
  ]);
  // The first connection is cut 8 MiB into the data, the next goes through.
  await using proxy = new FaultProxy(
    server.port,
    (index) =>
      index === 0
        ? { kind: "cut-down", afterBytes: 8 * MiB }
        : { kind: "none" },
  );
  const client = await runClient([
    "--get",
    `127.0.0.1:${proxy.port}`,
    "--dir",
    dest.path,
  ]);
  assert.equal(client.code, 0, client.stderr);
  assert.match(client.stderr, /connection lost: .*retrying in/);
  assert.match(client.stdout, /resuming {2}big\.bin {2}from [\d.]+ MiB/);
  assert.match(client.stdout, /^1 of 1 files received and verified/m);
  assert.deepEqual(await Deno.readFile(join(dest.path, "big.bin")), data);
  assert.deepEqual(await stagedFiles(dest.path), []);
});

Deno.test("a sharing server that ends after one download lets the other downloads finish", async () => {
  await using source = await tempDir();
  await using first = await tempDir();
  await using second = await tempDir();
  const data = await randomFile(join(source.path, "big.bin"), 4 * MiB);
  const server = await startServer(["--share", join(source.path, "big.bin")]);
  await using _server = server;
  // The second client's connection is held still from its first byte on,
  // so the first one is done before it.
  await using proxy = new FaultProxy(server.port, () => ({ kind: "none" }));
  proxy.pauseAfter(1);
  const held = spawnClient([
    "--get",
    `127.0.0.1:${proxy.port}`,
    "--dir",
    second.path,
  ]);
  await waitForPause(proxy);
  const done = await runClient([
    "--get",
    `127.0.0.1:${server.port}`,
    "--dir",
    first.path,
  ]);
  assert.equal(done.code, 0, done.stderr);
  proxy.resume();
  const late = await finish(held);
  assert.equal(late.code, 0, late.stderr);
  assert.doesNotMatch(late.stderr, /connection lost/);
  for (const folder of [first.path, second.path]) {
    assert.deepEqual(await Deno.readFile(join(folder, "big.bin")), data);
  }
  assert.equal((await server.exited()).code, 0);
});

Deno.test("a sharing server that closes cleanly in the middle of a file is retried, and the kept bytes offered again", async () => {
  await using dest = await tempDir();
  const entry = fileEntry("a.bin", 10);
  let offered: unknown;
  await using sharer = new HostileSharer(async (s) => {
    await s.manifest([entry]);
    if (s.index === 0) {
      await s.receive();
      await s.send({ type: "file", index: 0, offset: 0 });
      await s.data(new TextEncoder().encode("01234"));
      // A clean close between records, as of a server that stops.
      return;
    }
    offered = await s.receive();
  });
  const client = await runClient([
    "--get",
    "--retries",
    "1",
    `127.0.0.1:${sharer.port}`,
    "--dir",
    dest.path,
  ]);
  assert.equal(client.code, 1);
  assert.match(
    client.stderr,
    /connection lost: Server left in the middle of a file; kept 5 B of 10 B of "a\.bin" for a resume; retrying in/,
  );
  assert.deepEqual(offered, {
    type: "decisions",
    start: 0,
    items: [{ action: "send", offset: 5 }],
    more: false,
  });
});

Deno.test("a client that gets files removes what it kept from a download abandoned for longer than --keep-partial", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const data = await randomFile(join(source.path, "big.bin"), 4 * MiB);
  await using server = await startServer([
    "--share",
    "--keep-sharing",
    join(source.path, "big.bin"),
  ]);
  await using proxy = new FaultProxy(
    server.port,
    () => ({ kind: "cut-down", afterBytes: 2.5 * MiB }),
  );
  const cut = await runClient([
    "--get",
    "--retries",
    "0",
    `127.0.0.1:${proxy.port}`,
    "--dir",
    dest.path,
  ]);
  assert.equal(cut.code, 1);
  const kept = await stagedFiles(dest.path);
  assert.ok(kept.some((name) => name.endsWith(".part")), kept.join(", "));
  const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
  for (const name of kept) {
    const path = join(dest.path, ".ft-staging", name);
    await Deno.utime(path, twoDaysAgo, twoDaysAgo);
  }
  const again = await runClient([
    "--get",
    "--keep-partial",
    "1d",
    `127.0.0.1:${server.port}`,
    "--dir",
    dest.path,
  ]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(
    again.stdout,
    /^Removed 1 unfinished files \([\d.]+ [KM]iB\) kept for longer than --keep-partial$/m,
  );
  assert.doesNotMatch(again.stdout, /resuming/);
  assert.deepEqual(await Deno.readFile(join(dest.path, "big.bin")), data);
});

Deno.test("a client and a server that want the files to go opposite ways say so in one line", async () => {
  await using source = await tempDir();
  await Deno.writeTextFile(join(source.path, "a.txt"), "a\n");
  await using sharing = await startServer([
    "--share",
    join(source.path, "a.txt"),
  ]);
  const upload = await runClient([
    `127.0.0.1:${sharing.port}`,
    join(source.path, "a.txt"),
  ]);
  assert.equal(upload.code, 1);
  assert.match(
    upload.stderr,
    /^client: This server shares files rather than receiving them: get them with --get\n$/,
  );
  await sharing.waitFor(/Client wants to send files, but this server shares/);
  await using dest = await tempDir();
  await using receiving = await startServer(["--dir", dest.path]);
  const get = await runClient([
    "--get",
    `127.0.0.1:${receiving.port}`,
    "--dir",
    dest.path,
  ]);
  assert.equal(get.code, 1);
  assert.match(
    get.stderr,
    /^client: This server receives files rather than sharing them: .*--share.*\n$/,
  );
  await receiving.waitFor(
    /Client wants to get files, but this server receives/,
  );
});
