/**
 * The server's limits on one session and on connections, end to end:
 * too large a session is refused before any data, and a client turned
 * away by a busy server retries.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { PATIENCE_MS } from "./conditions.ts";
import {
  listTree,
  randomFile,
  runClient,
  ServerProcess,
  spawnClient,
  startServer,
  tempDir,
} from "./helpers.ts";

const MiB = 1024 * 1024;

Deno.test("session limits: too large a session is refused up front, a busy server is retried", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  await randomFile(join(source.path, "a.bin"), 3 * MiB);
  await using server = await startServer([
    "--dir",
    dest.path,
    "--max-size",
    "2M",
    "--max-entries",
    "3",
    "--max-connections",
    "1",
  ]);
  const big = await runClient([
    `127.0.0.1:${server.port}`,
    join(source.path, "a.bin"),
  ]);
  assert.equal(big.code, 1);
  assert.match(
    big.stderr,
    /more than the 2\.0 MiB this server takes in one session/,
  );
  assert.deepEqual(await listTree(dest.path), []);
  for (const name of ["1", "2", "3", "4"]) {
    await Deno.writeTextFile(join(source.path, `${name}.txt`), name);
  }
  const many = await runClient([
    `127.0.0.1:${server.port}`,
    ...["1", "2", "3", "4"].map((name) => join(source.path, `${name}.txt`)),
  ]);
  assert.equal(many.code, 1);
  assert.match(
    many.stderr,
    /more than the 3 entries this server takes in one session \(its --max-entries\)/,
  );
  assert.deepEqual(await listTree(dest.path), []);
  // The only slot is held by a silent peer until the client was turned
  // away as busy; then it goes, and the client's retry gets through.
  await Deno.writeTextFile(join(source.path, "small.txt"), "small\n");
  const silent = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.port,
  });
  await server.waitFor(/(\] connected[^]*?){3}/);
  // Its output helpers serve a client as well as a server.
  await using running = new ServerProcess(spawnClient([
    `127.0.0.1:${server.port}`,
    join(source.path, "small.txt"),
  ]));
  await running.waitFor(/Server is busy/, PATIENCE_MS);
  silent.close();
  const small = await running.exited();
  assert.equal(small.code, 0, small.stderr);
  assert.match(small.stderr, /Server is busy/);
  assert.match(server.stderr, /turned away: 1 connections are open/);
  assert.equal(
    await Deno.readTextFile(join(dest.path, "small.txt")),
    "small\n",
  );
});
