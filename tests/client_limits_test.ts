import assert from "node:assert/strict";
import {
  ENTRY_ALLOWANCE_MS,
  keyExchangeDeadlineMs,
  ServerStalledError,
  WaitLimit,
  waitLimitMs,
} from "../lib/transfer/client_limits.ts";
import { listTree, runClient, sleep, startServer, tempDir } from "./helpers.ts";
import { startFake } from "./fake_server_process.ts";

Deno.test("the key exchange deadline is twice the idle timeout", () => {
  assert.equal(keyExchangeDeadlineMs(30_000), 60_000);
  assert.equal(keyExchangeDeadlineMs(3_000), 6_000);
});

Deno.test("wait messages are accepted for the idle timeout plus hashing time", () => {
  assert.equal(waitLimitMs([], 30_000), 30_000);
  const gib = 2 ** 30;
  assert.equal(
    waitLimitMs([{ size: gib }, { size: 0 }, { size: gib }], 30_000),
    30_000 + 3 * ENTRY_ALLOWANCE_MS + 512_000,
  );
});

Deno.test("a wait limit strikes only without real progress", async () => {
  let progress = 0;
  const limit = new WaitLimit(1, () => progress);
  limit.waited("decisions");
  await sleep(20);
  progress++;
  // Bytes went out meanwhile: the clock starts again.
  limit.waited("decisions");
  await sleep(20);
  limit.progressed();
  // A real message came: this wait is the first of a new run.
  limit.waited("decisions");
  await sleep(20);
  assert.throws(
    () => limit.waited("the server's decisions"),
    (error) =>
      error instanceof ServerStalledError &&
      /^Server kept saying wait for \d+ s while the client waited for the server's decisions, /
        .test(error.message),
  );
});

Deno.test("an impostor trickling the key exchange is given up on at the deadline", async () => {
  // A byte every 0.5 s keeps a 3 s idle timeout quiet; the whole key
  // exchange would take about 55 s.
  await using fake = await startFake("trickle", "--interval", "500");
  const result = await runClient([
    "--idle-timeout",
    "3",
    `127.0.0.1:${fake.port}`,
    "main.txt",
  ]);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(
    result.stderr,
    `client: Key exchange with 127.0.0.1:${fake.port} not done within 6 s (twice --idle-timeout): check the address the server printed (another program may listen there), or try again later\n`,
  );
  assert.equal(await fake.stop(), 1, "not retried");
});

Deno.test("a server that says wait forever is given up on", async () => {
  await using fake = await startFake("wait", "--interval", "200");
  const result = await runClient([
    "--json",
    "--idle-timeout",
    "2",
    `127.0.0.1:${fake.port}`,
    "main.txt",
  ]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /^client: Server kept saying wait for \d+ s while the client waited for the server's decisions, longer than hashing these files can take: it seems stuck, check it and try again\n$/,
  );
  const types = result.stdout.trim().split("\n").map((line) =>
    JSON.parse(line).type
  );
  assert.deepEqual(types, ["connected", "handshake", "error"]);
  assert.equal(await fake.stop(), 1, "not retried");
});

Deno.test("a first connection dropped during the key exchange is retried", async () => {
  await using dest = await tempDir();
  await using server = await startServer(["--dir", dest.path, "--once"]);
  await using fake = await startFake("drop", "--forward", String(server.port));
  const result = await runClient([`127.0.0.1:${fake.port}`, "main.txt"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /^connection lost: Server closed the connection during the key exchange, before its key share; retrying in [\d.]+ s \(retry 1 of 5\)\n$/,
  );
  assert.match(result.stdout, /^verified {2}main\.txt/m);
  assert.equal(await fake.stop(), 2);
  assert.equal((await server.exited()).code, 0);
  assert.deepEqual(await listTree(dest.path), ["main.txt"]);
});

Deno.test("a first connection closed by a peer that never said hello is not retried", async () => {
  await using fake = await startFake("mute");
  const result = await runClient([`127.0.0.1:${fake.port}`, "main.txt"]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    "client: Server closed the connection before its hello: does it use TLS (then add --tls), or is it another program?\n",
  );
  assert.equal(await fake.stop(), 1, "not retried");
});
