/**
 * Destinations that take two different names as one file: a real
 * case-insensitive file system (NTFS through lowntfs-3g with ignore_case,
 * mounted by the test when it runs as root and ntfs-3g is installed), and
 * a destination whose rules say it ignores Unicode normalization (as macOS
 * does; no such file system mounts here, so the rules are given).
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Destination } from "../lib/store/destination.ts";
import { DestinationRoot } from "../lib/store/destination_root.ts";
import {
  EXACT_NAMES,
  nameKey,
  probeNameRules,
} from "../lib/store/name_rules.ts";
import { fileEntry, HostileClient } from "./hostile_client.ts";
import { runClient, startServer, tempDir } from "./helpers.ts";
import { caseInsensitiveDisk, ntfsAvailable } from "./small_disk.ts";
import { createHash } from "node:crypto";

const NFC = "caf\u00e9.txt";
const NFD = "cafe\u0301.txt";

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

Deno.test("a Linux folder compares names exactly", async () => {
  await using dest = await tempDir();
  const root = await DestinationRoot.open(dest.path, false);
  try {
    assert.deepEqual(probeNameRules(root.staging.folder), EXACT_NAMES);
    assert.deepEqual(root.rules, EXACT_NAMES);
  } finally {
    root.close();
  }
});

Deno.test("name keys fold as the rules say, coarsely where case is ignored", () => {
  const folding = { ignoresCase: true, ignoresNormalization: true };
  const composing = { ignoresCase: false, ignoresNormalization: true };
  assert.equal(nameKey(EXACT_NAMES, "Report.TXT"), "Report.TXT");
  assert.equal(nameKey(folding, "Report.TXT"), nameKey(folding, "report.txt"));
  assert.equal(nameKey(folding, NFC), nameKey(folding, NFD.toUpperCase()));
  assert.equal(nameKey(folding, "STRASSE"), nameKey(folding, "straße"));
  assert.equal(nameKey(composing, NFC), nameKey(composing, NFD));
  assert.notEqual(nameKey(composing, "A"), nameKey(composing, "a"));
});

Deno.test("where normalization is ignored, both forms of a name clash and share one claim", async () => {
  await using dest = await tempDir();
  const root = await DestinationRoot.open(dest.path, false, {
    ignoresCase: false,
    ignoresNormalization: true,
  });
  const first = new Destination(root);
  const second = new Destination(root);
  const third = new Destination(root);
  try {
    assert.deepEqual(await first.decide(fileEntry(NFC, 1)), {
      action: "send",
      offset: 0,
    });
    const clash = await first.decide(fileEntry(NFD, 1));
    assert.equal(clash.action, "refuse");
    assert.match(
      clash.action === "refuse" ? clash.reason : "",
      /clashes with another entry of this transfer on this server, whose file system ignores Unicode normalization/,
    );
    // Another session: the other form is the same file, being received.
    assert.deepEqual(await second.decide(fileEntry(NFD, 1)), {
      action: "refuse",
      reason: "another client is sending this file right now",
      later: true,
    });
    first.release();
    assert.deepEqual(await third.decide(fileEntry(NFD, 1)), {
      action: "send",
      offset: 0,
    });
  } finally {
    for (const session of [first, second, third]) session.release();
    root.close();
  }
});

const noNtfs = await ntfsAvailable();
if (noNtfs !== null) {
  console.log(`name_rules_test: case-insensitive disk skipped, ${noNtfs}`);
}

Deno.test({
  name: "on a case-insensitive disk, Report.txt and report.txt are one file",
  ignore: noNtfs !== null,
  async fn() {
    await using disk = await caseInsensitiveDisk();
    await using server = await startServer(["--dir", disk.path]);
    // In one manifest: the second is refused, nothing is confirmed twice.
    {
      using client = await HostileClient.connect(server.port);
      await client.handshake();
      await client.send({
        type: "manifest",
        entries: [fileEntry("Report.txt", 3), fileEntry("report.txt", 3)],
        more: false,
      });
      const decisions = await client.expect("decisions");
      assert.equal(decisions.items[0].action, "send");
      assert.equal(decisions.items[1].action, "refuse");
      await client.send({ type: "file", index: 0, offset: 0 });
      await client.data(new TextEncoder().encode("one"));
      await client.send({ type: "end", index: 0, sha256: sha256("one") });
      await client.send({ type: "done" });
      const { messages } = await client.readToEnd();
      assert.deepEqual(messages, [
        { type: "verified", index: 0, sha256: sha256("one") },
        { type: "summary", verified: 1, failed: 1 },
      ]);
    }
    // In another session, the other spelling with other bytes: a conflict,
    // and the file keeps what was confirmed.
    await using source = await tempDir();
    await Deno.writeTextFile(join(source.path, "report.txt"), "two");
    const other = await runClient([
      `127.0.0.1:${server.port}`,
      join(source.path, "report.txt"),
    ]);
    assert.equal(other.code, 1, other.stdout + other.stderr);
    assert.match(other.stderr, /failed {2}report\.txt: a different file/);
    assert.equal(
      await Deno.readTextFile(join(disk.path, "Report.txt")),
      "one",
    );
    assert.equal(
      (await Array.fromAsync(Deno.readDir(disk.path))).filter((entry) =>
        entry.name.toLowerCase() === "report.txt"
      ).length,
      1,
    );
  },
});
