/**
 * Stalled and slow peers in the download direction, with real processes
 * on loopback, as `interruption_test.ts` has them for uploads: a sharing
 * server that stalls is dropped by the client's idle timeout and the
 * download resumes on a new connection; a sharing server drops a stalled
 * client and a silent peer while another client downloads. Long hashing
 * on either side runs in both directions in `interruption_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { FaultProxy } from "./fault_proxy.ts";
import {
  finish,
  randomFile,
  runClient,
  spawnClient,
  stagedFiles,
  startServer,
  tempDir,
} from "./helpers.ts";

const MiB = 1024 * 1024;

Deno.test("a sharing server that stalls is dropped by the client's idle timeout, and the download resumes", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const data = await randomFile(join(source.path, "big.bin"), 8 * MiB);
  await using server = await startServer([
    "--share",
    join(source.path, "big.bin"),
  ]);
  // The first connection goes silent both ways after 3 MiB, as a lost
  // network would. The sharing server holds nothing for it, so the retry
  // goes through at once, the stalled session still open.
  await using proxy = new FaultProxy(
    server.port,
    (index) =>
      index === 0
        ? { kind: "stall-down", afterBytes: 3 * MiB }
        : { kind: "none" },
  );
  // Seconds, not one: the key exchange must fit on a loaded machine.
  const result = await runClient([
    "--get",
    "--idle-timeout",
    "3",
    `127.0.0.1:${proxy.port}`,
    "--dir",
    dest.path,
  ]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(
    result.stderr,
    /^connection lost: No data from the peer for 3 s; kept [\d.]+ (?:B|KiB|MiB) of 8\.0 MiB of "big\.bin" for a resume; retrying in [\d.]+ s \(retry 1 of 5\)\n$/,
  );
  assert.match(result.stdout, /resuming {2}big\.bin {2}from /);
  assert.match(result.stdout, /1 of \d+ files received and verified/);
  assert.deepEqual(await Deno.readFile(join(dest.path, "big.bin")), data);
  assert.deepEqual(await stagedFiles(dest.path), []);
  assert.equal(proxy.connections, 2);
  // The session that got every file ends the sharing server.
  assert.equal((await server.exited()).code, 0);
});

Deno.test("a sharing server drops a stalled client and a silent peer after its idle timeout, while another downloads", async () => {
  await using source = await tempDir();
  await using normalDest = await tempDir();
  await using stalledDest = await tempDir();
  const data = await randomFile(join(source.path, "x.bin"), 8 * MiB);
  // Seconds, not one: both clients must get through their key exchange
  // within them on a loaded machine too.
  await using server = await startServer([
    "--share",
    "--keep-sharing",
    "--idle-timeout",
    "5",
    join(source.path, "x.bin"),
  ]);
  using silent = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.port,
  });
  await using proxy = new FaultProxy(
    server.port,
    () => ({ kind: "stall-down", afterBytes: 2 * MiB }),
  );
  const stalled = spawnClient([
    "--get",
    "--retries",
    "0",
    "--idle-timeout",
    "5",
    `127.0.0.1:${proxy.port}`,
    "--dir",
    stalledDest.path,
  ]);
  const normal = await runClient([
    "--get",
    `127.0.0.1:${server.port}`,
    "--dir",
    normalDest.path,
  ]);
  assert.equal(normal.code, 0, normal.stderr);
  assert.deepEqual(await Deno.readFile(join(normalDest.path, "x.bin")), data);
  // The silent peer, before its key exchange; the stalled client, which
  // stopped reading (or, had everything fit in the buffers between, went
  // silent).
  await server.waitFor(
    /(\] error: (No data from the peer|The peer stopped reading) for 5 s\n[^]*){2}/,
  );
  const gaveUp = await finish(stalled);
  assert.equal(gaveUp.code, 1);
  assert.match(
    gaveUp.stderr,
    /^client: No data from the peer for 5 s; kept [\d.]+ (?:B|KiB|MiB) of 8\.0 MiB of "x\.bin" for a resume/,
  );
  const buffer = new Uint8Array(16);
  // The silent peer got the server's hello, then the end of the stream.
  let total = 0;
  for (;;) {
    const count = await silent.read(buffer).catch(() => null);
    if (count === null) break;
    total += count;
  }
  assert.equal(total, 8);
});
