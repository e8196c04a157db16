/**
 * A client that gets files into a folder that takes two different names
 * as one file, as `name_rules_test.ts` has a server receiving into one: a
 * real case-insensitive file system (NTFS through lowntfs-3g with
 * ignore_case), mounted by the test when it runs as root and ntfs-3g is
 * installed, and shared from a folder that holds both spellings.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runClient, startServer, tempDir } from "./helpers.ts";
import { caseInsensitiveDisk, ntfsAvailable } from "./small_disk.ts";

const noNtfs = await ntfsAvailable();
if (noNtfs !== null) {
  console.log(
    `download_name_rules_test: case-insensitive disk skipped, ${noNtfs}`,
  );
}

Deno.test({
  name:
    "got onto a case-insensitive disk, Report.txt and report.txt are one file",
  ignore: noNtfs !== null,
  async fn() {
    await using disk = await caseInsensitiveDisk();
    const dest = join(disk.path, "dest");
    await Deno.mkdir(dest);
    await using source = await tempDir();
    const docs = join(source.path, "docs");
    await Deno.mkdir(docs);
    await Deno.writeTextFile(join(docs, "Report.txt"), "one");
    await Deno.writeTextFile(join(docs, "report.txt"), "two");
    await using both = await startServer(["--share", docs]);
    const get = (port: number) =>
      runClient(["--get", `127.0.0.1:${port}`, "--dir", dest]);
    // In one manifest: the second is refused, nothing is confirmed twice.
    const first = await get(both.port);
    assert.equal(first.code, 1, first.stdout + first.stderr);
    assert.match(first.stdout, /^received {2}docs\/Report\.txt/m);
    assert.match(
      first.stderr,
      /^failed {2}docs\/report\.txt: refused: it clashes with another entry of this transfer on this client, whose file system ignores case/m,
    );
    assert.match(
      first.stdout,
      /1 of \d+ files received and verified, 0 already there, 1 failed/,
    );
    await both.stop();
    // From another sharer, the other spelling with other bytes: a
    // conflict, and the file keeps what was verified.
    await using other = await tempDir();
    await Deno.mkdir(join(other.path, "docs"));
    await Deno.writeTextFile(join(other.path, "docs/report.txt"), "two");
    await using one = await startServer(["--share", join(other.path, "docs")]);
    const second = await get(one.port);
    assert.equal(second.code, 1, second.stdout + second.stderr);
    assert.match(
      second.stderr,
      /^failed {2}docs\/report\.txt: a different file/m,
    );
    assert.equal(
      await Deno.readTextFile(join(dest, "docs/Report.txt")),
      "one",
    );
    // (lowntfs-3g lists every name in lower case.)
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(join(dest, "docs")))).map((entry) =>
        entry.name.toLowerCase()
      ),
      ["report.txt"],
    );
  },
});
