import assert from "node:assert/strict";
import { join } from "node:path";
import { isPartialName, removeStalePartials } from "../lib/partial_cleanup.ts";
import { exists } from "./helpers.ts";

const HOUR = 60 * 60 * 1000;
const NOW = Date.now();
const OLD = new Date(NOW - 2 * HOUR);

async function writeOld(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text);
  await Deno.utime(path, OLD, OLD);
}

/** Runs `body` in a fresh temporary folder that is removed afterwards. */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  // realPath because the cleanup wants a symlink-free root (e.g. macOS /var).
  const dir = await Deno.realPath(
    await Deno.makeTempDir({ prefix: "ft-cleanup-" }),
  );
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the suffix check wants a leading dot and the suffix", () => {
  assert.ok(isPartialName(".a.txt.1234.ftpart"));
  assert.ok(!isPartialName("a.ftpart"));
  assert.ok(!isPartialName(".a.ftpart.txt"));
});

Deno.test("old hidden temporary files are removed, everything else stays", async () => {
  await inTempDir(async (dir) => {
    const root = join(dir, "root");
    await Deno.mkdir(join(root, "one/two"), { recursive: true });
    await writeOld(join(root, ".a.ftpart"), "aaa");
    await writeOld(join(root, "one/two/.c.ftpart"), "ccccc");
    await Deno.writeTextFile(join(root, ".b.ftpart"), "fresh");
    await writeOld(join(root, "old.txt"), "old");
    await writeOld(join(root, "one/x.ftpart"), "no dot");
    await Deno.mkdir(join(root, ".d.ftpart"));
    await Deno.utime(join(root, ".d.ftpart"), OLD, OLD);

    const result = await removeStalePartials(root, HOUR, NOW);

    assert.deepEqual(result, { removed: 2, bytes: 8, errors: [] });
    assert.equal(await exists(join(root, ".a.ftpart")), false);
    assert.equal(await exists(join(root, "one/two/.c.ftpart")), false);
    assert.equal(await exists(join(root, ".b.ftpart")), true);
    assert.equal(await exists(join(root, "old.txt")), true);
    assert.equal(await exists(join(root, "one/x.ftpart")), true);
    assert.ok((await Deno.lstat(join(root, ".d.ftpart"))).isDirectory);
  });
});

Deno.test("symbolic links are neither followed nor removed", async () => {
  await inTempDir(async (dir) => {
    const root = join(dir, "root");
    const outside = join(dir, "outside");
    await Deno.mkdir(root);
    await Deno.mkdir(outside);
    await writeOld(join(outside, ".z.ftpart"), "zz");
    await writeOld(join(outside, "target.bin"), "tt");
    await Deno.symlink(outside, join(root, "away"));
    const link = join(root, ".link.ftpart");
    await Deno.symlink(join(outside, "target.bin"), link);
    // Deno.utime follows links; the link itself must look old too, or it
    // would be kept for being fresh rather than for being a link.
    const touched = await new Deno.Command("touch", {
      args: ["-h", "-d", OLD.toISOString(), link],
    }).output();
    assert.ok(touched.success, new TextDecoder().decode(touched.stderr));
    assert.ok((await Deno.lstat(link)).mtime!.getTime() < NOW - HOUR);

    const result = await removeStalePartials(root, HOUR, NOW);

    assert.deepEqual(result, { removed: 0, bytes: 0, errors: [] });
    assert.equal(await exists(join(outside, ".z.ftpart")), true);
    assert.equal(await exists(join(outside, "target.bin")), true);
    assert.ok((await Deno.lstat(link)).isSymlink);
  });
});

Deno.test("an unreadable folder is reported and the rest is still cleaned", async () => {
  if (Deno.uid() === 0) {
    console.log("skipped: running as root, which can read any folder");
    return;
  }
  await inTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "locked"));
    await Deno.mkdir(join(dir, "open"));
    await writeOld(join(dir, "locked/.x.ftpart"), "x");
    await writeOld(join(dir, "open/.y.ftpart"), "yy");
    await writeOld(join(dir, ".a.ftpart"), "aaa");
    await Deno.chmod(join(dir, "locked"), 0o000);
    try {
      const result = await removeStalePartials(dir, HOUR, NOW);
      assert.deepEqual(result, {
        removed: 2,
        bytes: 5,
        errors: ['Cannot read folder "locked": permission denied'],
      });
      assert.equal(await exists(join(dir, "open/.y.ftpart")), false);
      assert.equal(await exists(join(dir, ".a.ftpart")), false);
    } finally {
      await Deno.chmod(join(dir, "locked"), 0o700);
    }
    assert.equal(await exists(join(dir, "locked/.x.ftpart")), true);
  });
});

Deno.test("a negative or missing age is refused", async () => {
  await inTempDir(async (dir) => {
    await writeOld(join(dir, ".a.ftpart"), "a");
    await assert.rejects(() => removeStalePartials(dir, -1, NOW), RangeError);
    await assert.rejects(() => removeStalePartials(dir, NaN, NOW), RangeError);
    assert.equal(await exists(join(dir, ".a.ftpart")), true);
  });
});
