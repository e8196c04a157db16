/**
 * Files that change on the sharing side, as `interruption_test.ts` has a
 * source that changes while a client sends it: the sharer must never get
 * a mix of old and new bytes verified under a name. Changed while it is
 * sent, the file fails on both sides and nothing of it is kept; changed
 * between an interrupted download and its resumption, the client's kept
 * data is used only when the sharer proves the same prefix.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, waitForPause } from "./conditions.ts";
import { FaultProxy } from "./fault_proxy.ts";
import {
  finish,
  listTree,
  randomFile,
  runClient,
  spawnClient,
  stagedFiles,
  stagedPath,
  startServer,
  tempDir,
} from "./helpers.ts";

const MiB = 1024 * 1024;

/** Writes `bytes` at `offset` of `path`, its size unchanged. */
async function overwrite(path: string, offset: number, bytes: Uint8Array) {
  using file = await Deno.open(path, { write: true });
  await file.seek(offset, Deno.SeekMode.Start);
  await file.write(bytes);
}

Deno.test("a shared file that changes while it is sent is given up on, never verified", async (t) => {
  const changes: [string, (path: string) => Promise<void>][] = [
    ["appended to, as a log file would be", async (path) => {
      using file = await Deno.open(path, { append: true });
      await file.write(new Uint8Array(4096).fill(1));
    }],
    // Ahead of what was sent and behind it: a mix, were it sent whole.
    ["overwritten in place, its size unchanged", async (path) => {
      await overwrite(path, 2 * MiB, new Uint8Array(4096).fill(2));
      await overwrite(path, 40 * MiB, new Uint8Array(4096).fill(2));
    }],
  ];
  for (const [name, change] of changes) {
    await t.step(name, async () => {
      await using source = await tempDir();
      await using dest = await tempDir();
      const path = join(source.path, "moving.bin");
      await randomFile(path, 60 * MiB);
      await using server = await startServer([
        "--share",
        "--keep-sharing",
        path,
      ]);
      await using proxy = new FaultProxy(server.port, () => ({ kind: "none" }));
      proxy.pauseAfterDown(8 * MiB);
      const client = spawnClient([
        "--get",
        `127.0.0.1:${proxy.port}`,
        "--dir",
        dest.path,
      ]);
      await waitForPause(proxy);
      await change(path);
      proxy.resume();
      const result = await finish(client);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.equal(
        result.stderr,
        'failed  moving.bin: server gave up: cannot send "moving.bin": it changed while being sent\n',
      );
      assert.doesNotMatch(result.stdout, /received {2}moving\.bin/);
      await server.waitFor(
        /failed moving\.bin: cannot send "moving\.bin": it changed while being sent/,
      );
      assert.deepEqual(await listTree(dest.path), []);
      assert.deepEqual(await stagedFiles(dest.path), [], "nothing kept");
      // Shared as it was scanned at start: today a server that keeps
      // sharing fails the changed file for every client, which never gets
      // wrong bytes under its name either.
      const again = await runClient([
        "--get",
        `127.0.0.1:${server.port}`,
        "--dir",
        dest.path,
      ]);
      console.log(`a second download: ${again.stderr.trim()}`);
      if (again.code === 0) {
        assert.deepEqual(
          await Deno.readFile(join(dest.path, "moving.bin")),
          await Deno.readFile(path),
        );
      } else {
        assert.deepEqual(await listTree(dest.path), []);
      }
    });
  }
});

Deno.test("kept data of a shared file changed before the download resumed is used only if its prefix is the same", async (t) => {
  const changes: [string, (path: string) => Promise<void>, boolean][] = [
    ["rewritten at its start: downloaded anew", async (path) => {
      await overwrite(path, 1000, new Uint8Array(10).fill(7));
    }, false],
    ["appended to: resumed", async (path) => {
      using file = await Deno.open(path, { append: true });
      await file.write(new Uint8Array(MiB).fill(9));
    }, true],
  ];
  for (const [name, change, resumed] of changes) {
    await t.step(name, async () => {
      await using source = await tempDir();
      await using dest = await tempDir();
      const path = join(source.path, "doc.bin");
      await randomFile(path, 24 * MiB);
      const port = freePort();
      const share = ["--share", path, "--port", `${port}`];
      // The first download is cut 8 MiB in, and not retried.
      const first = await startServer(share);
      await using proxy = new FaultProxy(
        port,
        (index) =>
          index === 0
            ? { kind: "cut-down", afterBytes: 8 * MiB }
            : { kind: "none" },
      );
      const args = [
        "--get",
        "--retries",
        "0",
        `127.0.0.1:${proxy.port}`,
        "--dir",
        dest.path,
      ];
      const cut = await runClient(args);
      assert.equal(cut.code, 1);
      const kept = (await Deno.stat(stagedPath(dest.path, "doc.bin"))).size;
      assert.ok(kept > 0, "some data was kept");
      await first.stop();
      // Changed while no server shares it; the next one scans it anew.
      await change(path);
      await using second = await startServer(share);
      const result = await runClient(args);
      assert.equal(result.code, 0, result.stderr);
      if (resumed) {
        assert.match(result.stdout, /resuming {2}doc\.bin {2}from /);
      } else {
        assert.doesNotMatch(result.stdout, /resuming/);
      }
      assert.deepEqual(
        await Deno.readFile(join(dest.path, "doc.bin")),
        await Deno.readFile(path),
      );
      assert.deepEqual(await stagedFiles(dest.path), []);
      assert.equal((await second.exited()).code, 0);
    });
  }
});
