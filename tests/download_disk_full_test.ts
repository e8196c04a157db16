/**
 * Full disks on the client that gets files, on a small tmpfs this test
 * mounts, as `disk_full_test.ts` has them on the server that receives: a
 * download that cannot fit is refused before any data, and a disk that
 * fills in the middle of a file fails that file on both sides and keeps
 * what arrived, for the same command to resume once there is room.
 * Skipped, with the reason printed, where mounting is not permitted.
 *
 * @module
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
  tempDir,
} from "./helpers.ts";
import { smallDisk, smallDiskUnavailable } from "./small_disk.ts";

const MiB = 1024 * 1024;

const probe = await smallDiskUnavailable();
if (probe !== null) {
  console.log(
    `download_disk_full_test: skipped, cannot mount a tmpfs here: ${probe}`,
  );
}

Deno.test({
  name: "a download that cannot fit is refused before any data",
  ignore: probe !== null,
  async fn() {
    await using disk = await smallDisk(32);
    await using source = await tempDir();
    const dest = join(disk.path, "dest");
    await Deno.mkdir(dest);
    await randomFile(join(source.path, "big.bin"), 40 * MiB);
    await using server = await startServer([
      "--share",
      join(source.path, "big.bin"),
    ]);
    const result = await runClient([
      "--get",
      `127.0.0.1:${server.port}`,
      "--dir",
      dest,
    ]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^client: Not enough space on the client: the files need 40\.0 MiB and [\d.]+ MiB is free\n$/,
    );
    await server.waitFor(/error: Client error: Not enough space on the client/);
    assert.deepEqual(await listTree(dest), []);
    assert.deepEqual(await stagedFiles(dest), []);
  },
});

Deno.test({
  name:
    "a disk that fills in the middle of a download fails the file on both sides, and keeps what arrived",
  ignore: probe !== null,
  async fn() {
    await using disk = await smallDisk(48);
    await using source = await tempDir();
    const dest = join(disk.path, "dest");
    await Deno.mkdir(dest);
    const data = await randomFile(join(source.path, "big.bin"), 40 * MiB);
    await using server = await startServer([
      "--share",
      "--keep-sharing",
      join(source.path, "big.bin"),
    ]);
    await using proxy = new FaultProxy(server.port, () => ({ kind: "none" }));
    const args = [
      "--get",
      `127.0.0.1:${proxy.port}`,
      "--dir",
      dest,
    ];
    // Hold the data at 8 MiB, however fast it flows, and fill the disk
    // behind the client's back once some reached it.
    proxy.pauseAfterDown(8 * MiB);
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
      /^failed {2}big\.bin: cannot save: No space left on device/,
    );
    await server.waitFor(
      /failed big\.bin: client: cannot save: No space left on device/,
    );
    const kept = (await Deno.stat(partial)).size;
    assert.ok(kept > 0, "what arrived is kept");
    assert.equal(
      await Deno.stat(join(dest, "big.bin")).catch(() => null),
      null,
    );
    // With room again, the same command resumes and completes.
    await Deno.remove(filler);
    const again = await runClient(args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /resuming {2}big\.bin {2}from /);
    assert.deepEqual(await Deno.readFile(join(dest, "big.bin")), data);
    assert.deepEqual(await stagedFiles(dest), []);
  },
});
