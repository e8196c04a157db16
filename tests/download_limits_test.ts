/**
 * The limits around a download's connection, end to end, as
 * `session_limits_test.ts` and `client_limits_test.ts` have them for
 * uploads: a busy sharing server is retried, an impostor trickling the key
 * exchange is given up on at the deadline, a first connection dropped in
 * the key exchange is retried, and one closed before any hello is not.
 * (What a download may bring, in entries and bytes, is in
 * `hostile_download_manifest_test.ts`.)
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { PATIENCE_MS } from "./conditions.ts";
import { startFake } from "./fake_server_process.ts";
import {
  listTree,
  randomFile,
  runClient,
  ServerProcess,
  spawnClient,
  startServer,
  tempDir,
} from "./helpers.ts";

Deno.test("a busy sharing server is retried until a slot is free", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const data = await randomFile(join(source.path, "small.bin"), 100_000);
  await using server = await startServer([
    "--share",
    "--max-connections",
    "1",
    join(source.path, "small.bin"),
  ]);
  // The only slot is held by a silent peer until the client was turned
  // away as busy; then it goes, and the client's retry gets through.
  const silent = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.port,
  });
  await server.waitFor(/\] connected/);
  // Its output helpers serve a client as well as a server.
  await using running = new ServerProcess(spawnClient([
    "--get",
    `127.0.0.1:${server.port}`,
    "--dir",
    dest.path,
  ]));
  await running.waitFor(/Server is busy/, PATIENCE_MS);
  silent.close();
  const result = await running.exited();
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /^Server is busy: it is at its limit of simultaneous connections; trying again in [\d.]+ s\n/,
  );
  assert.match(server.stderr, /turned away: 1 connections are open/);
  assert.deepEqual(await Deno.readFile(join(dest.path, "small.bin")), data);
  assert.equal((await server.exited()).code, 0);
});

Deno.test("an impostor trickling the key exchange of a download is given up on at the deadline", async () => {
  await using dest = await tempDir();
  // A byte every 0.5 s keeps a 3 s idle timeout quiet; the whole key
  // exchange would take about 55 s.
  await using fake = await startFake(
    "trickle",
    "--share",
    "--interval",
    "500",
  );
  const result = await runClient([
    "--get",
    "--idle-timeout",
    "3",
    `127.0.0.1:${fake.port}`,
    "--dir",
    dest.path,
  ]);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(
    result.stderr,
    `client: Key exchange with 127.0.0.1:${fake.port} not done within 6 s (twice --idle-timeout): check the address the server printed (another program may listen there), or try again later\n`,
  );
  assert.equal(await fake.stop(), 1, "not retried");
  assert.deepEqual(await listTree(dest.path), []);
});

Deno.test("a first download connection dropped during the key exchange is retried", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  await Deno.writeTextFile(join(source.path, "a.txt"), "shared\n");
  await using server = await startServer([
    "--share",
    join(source.path, "a.txt"),
  ]);
  await using fake = await startFake(
    "drop",
    "--share",
    "--forward",
    String(server.port),
  );
  const result = await runClient([
    "--get",
    `127.0.0.1:${fake.port}`,
    "--dir",
    dest.path,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /^connection lost: Server closed the connection during the key exchange, before its key share; retrying in [\d.]+ s \(retry 1 of 5\)\n$/,
  );
  assert.match(result.stdout, /^received {2}a\.txt/m);
  assert.equal(await fake.stop(), 2);
  assert.equal((await server.exited()).code, 0);
  assert.deepEqual(await listTree(dest.path), ["a.txt"]);
});

Deno.test("a first download connection closed by a peer that never said hello is not retried", async () => {
  await using dest = await tempDir();
  await using fake = await startFake("mute");
  const result = await runClient([
    "--get",
    `127.0.0.1:${fake.port}`,
    "--dir",
    dest.path,
  ]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    "client: Server closed the connection before its hello: does it use TLS (then add --tls), or is it another program?\n",
  );
  assert.equal(await fake.stop(), 1, "not retried");
});
