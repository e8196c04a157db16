import assert from "node:assert/strict";
import { join } from "node:path";
import { DestinationRoot } from "../lib/store/destination_root.ts";
import {
  isStagedName,
  removeStalePartials,
} from "../lib/store/partial_cleanup.ts";
import { STAGING_NAME, stagingId } from "../lib/store/staging.ts";
import { exists, stagedPath, startServer, tempDir } from "./helpers.ts";

const HOUR = 60 * 60 * 1000;
const NOW = Date.now();
const OLD = new Date(NOW - 2 * HOUR);

async function writeOld(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text);
  await Deno.utime(path, OLD, OLD);
}

Deno.test("only staging ids with their suffix count as staged files", () => {
  const id = stagingId("a.txt");
  assert.ok(isStagedName(`${id}.part`));
  assert.ok(isStagedName(`${id}.rec`));
  assert.ok(!isStagedName(`${id}.txt`));
  assert.ok(!isStagedName(".a.txt.ftpart"));
  assert.ok(!isStagedName(`x${id.slice(1)}.part`.toUpperCase()));
});

Deno.test("old staged data and lone records go, everything else stays", async () => {
  await using dest = await tempDir();
  const root = await DestinationRoot.open(dest.path, false);
  try {
    const staging = join(dest.path, STAGING_NAME);
    const [a, b, c, held] = ["a", "b", "c", "held"].map(stagingId);
    await writeOld(join(staging, `${a}.part`), "aaa");
    await writeOld(join(staging, `${a}.rec`), "{}");
    await Deno.writeTextFile(join(staging, `${b}.part`), "fresh");
    await writeOld(join(staging, `${c}.rec`), "{}");
    await writeOld(join(staging, `${held}.part`), "held by a session");
    await writeOld(join(staging, "notes.txt"), "not ours");
    // The destination itself is never looked at.
    await writeOld(join(dest.path, `${a}.part`), "a file of the user");

    const result = removeStalePartials(
      root.staging,
      HOUR,
      (id) => id === held,
      NOW,
    );

    assert.deepEqual(result, { removed: 1, bytes: 3, errors: [] });
    assert.equal(await exists(join(staging, `${a}.part`)), false);
    assert.equal(await exists(join(staging, `${a}.rec`)), false);
    assert.equal(await exists(join(staging, `${c}.rec`)), false);
    assert.equal(await exists(join(staging, `${b}.part`)), true);
    assert.equal(await exists(join(staging, `${held}.part`)), true);
    assert.equal(await exists(join(staging, "notes.txt")), true);
    assert.equal(await exists(join(dest.path, `${a}.part`)), true);
  } finally {
    root.close();
  }
});

Deno.test("a symbolic link in the staging folder is neither followed nor removed", async () => {
  await using dest = await tempDir();
  await using outside = await tempDir();
  const root = await DestinationRoot.open(dest.path, false);
  try {
    const target = join(outside.path, "target.bin");
    await writeOld(target, "tt");
    const link = join(dest.path, STAGING_NAME, `${stagingId("x")}.part`);
    await Deno.symlink(target, link);
    const touched = await new Deno.Command("touch", {
      args: ["-h", "-d", OLD.toISOString(), link],
    }).output();
    assert.ok(touched.success, new TextDecoder().decode(touched.stderr));

    const result = removeStalePartials(root.staging, HOUR, () => false, NOW);

    assert.deepEqual(result, { removed: 0, bytes: 0, errors: [] });
    assert.equal(await exists(target), true);
    assert.ok((await Deno.lstat(link)).isSymlink);
  } finally {
    root.close();
  }
});

Deno.test("a negative or missing age is refused", async () => {
  await using dest = await tempDir();
  const root = await DestinationRoot.open(dest.path, false);
  try {
    const part = join(dest.path, STAGING_NAME, `${stagingId("a")}.part`);
    await writeOld(part, "a");
    assert.throws(() => removeStalePartials(root.staging, -1), RangeError);
    assert.throws(() => removeStalePartials(root.staging, NaN), RangeError);
    assert.equal(await exists(part), true);
  } finally {
    root.close();
  }
});

Deno.test("kept data older than --keep-partial is deleted when the server starts", async () => {
  await using dest = await tempDir();
  // The staging folder as an earlier run of the server left it.
  await Deno.mkdir(join(dest.path, STAGING_NAME), { mode: 0o700 });
  const old = stagedPath(dest.path, "sub/old.bin");
  const fresh = stagedPath(dest.path, "fresh.bin");
  await Deno.writeFile(old, new Uint8Array(1000));
  await Deno.writeFile(fresh, new Uint8Array(10));
  const twoDaysAgo = new Date(Date.now() - 2 * 86400_000);
  await Deno.utime(old, twoDaysAgo, twoDaysAgo);
  await using server = await startServer([
    "--dir",
    dest.path,
    "--keep-partial",
    "1d",
  ]);
  await server.waitFor(/Removed 1 unfinished files \(1000 B\)/);
  assert.equal(await Deno.stat(old).catch(() => null), null);
  assert.ok(await Deno.stat(fresh));
});
