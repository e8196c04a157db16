/**
 * Full disks, on a small tmpfs this test mounts: a session that cannot fit
 * is refused before any data, and a disk that fills in the middle of a file
 * fails that file on both sides, keeps what arrived and leaves the server
 * up. Skipped, with the reason printed, where mounting is not permitted.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { waitForPause, waitForSize } from "./conditions.ts";
import { FaultProxy } from "./fault_proxy.ts";
import {
  listTree,
  randomFile,
  runClient,
  stagedFiles,
  stagedPath,
  startServer,
} from "./helpers.ts";
import { smallDisk, smallDiskUnavailable } from "./small_disk.ts";

const MiB = 1024 * 1024;

const probe = await smallDiskUnavailable();
if (probe !== null) {
  console.log(`disk_full_test: skipped, cannot mount a tmpfs here: ${probe}`);
}

Deno.test({
  name: "a session that cannot fit is refused before any data",
  ignore: probe !== null,
  async fn() {
    await using disk = await smallDisk(32);
    const source = await Deno.makeTempDir();
    try {
      await randomFile(join(source, "big.bin"), 40 * MiB);
      await using server = await startServer(["--dir", disk.path]);
      const result = await runClient([
        `127.0.0.1:${server.port}`,
        join(source, "big.bin"),
      ]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /Not enough space on the server: the files need 40\.0 MiB and [\d.]+ MiB is free/,
      );
      await server.waitFor(/error: Not enough space on the server/);
      assert.deepEqual(await listTree(disk.path), []);
      assert.deepEqual(await stagedFiles(disk.path), []);
    } finally {
      await Deno.remove(source, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a disk that fills in the middle of a file fails it on both sides and keeps what arrived",
  ignore: probe !== null,
  async fn() {
    await using disk = await smallDisk(48);
    const source = await Deno.makeTempDir();
    try {
      const dest = join(disk.path, "dest");
      await Deno.mkdir(dest);
      const data = await randomFile(join(source, "big.bin"), 40 * MiB);
      await using server = await startServer(["--dir", dest]);
      await using proxy = new FaultProxy(
        server.port,
        () => ({ kind: "none" }),
      );
      const args = [`127.0.0.1:${proxy.port}`, join(source, "big.bin")];
      // Hold the data at 8 MiB, however fast it flows, and fill the disk
      // behind the server's back once some reached it.
      proxy.pauseAfter(8 * MiB);
      const client = runClient(args);
      const partial = stagedPath(dest, "big.bin");
      await waitForPause(proxy);
      await waitForSize(partial, 0);
      const filler = join(disk.path, "filler.bin");
      await Deno.writeFile(filler, new Uint8Array(100 * MiB)).catch(() => {});
      proxy.resume();
      const result = await client;
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(
        result.stderr,
        /failed {2}big\.bin: server: cannot save: No space left on device/,
      );
      await server.waitFor(
        /failed big\.bin: cannot save: No space left on device/,
      );
      const kept = (await Deno.stat(partial)).size;
      assert.ok(kept > 0, "what arrived is kept");
      assert.equal(
        await Deno.stat(join(dest, "big.bin")).catch(() => null),
        null,
      );
      // With room again, the same command resumes and completes.
      await Deno.remove(filler);
      const again = await runClient([
        `127.0.0.1:${server.port}`,
        join(source, "big.bin"),
      ]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /resuming {2}big\.bin {2}from /);
      assert.deepEqual(await Deno.readFile(join(dest, "big.bin")), data);
    } finally {
      await Deno.remove(source, { recursive: true });
    }
  },
});
