/**
 * A local attacker: another user of the server's machine who can write
 * into a folder of the destination (or into the destination itself) and
 * plants, swaps and links things there while the server, running as root,
 * receives. The attacker's steps run as `nobody` with setpriv; without
 * root or setpriv, the tests say they are skipped.
 *
 * Each test checks that nothing outside the destination changed, that no
 * wrong bytes ever appear under a final name, that nothing planted is
 * adopted, and that the server keeps serving.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  randomFile,
  ROOT,
  runClient,
  sleep,
  startServer,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";
import { STAGING_NAME } from "../lib/store/staging.ts";
import {
  asAttacker,
  attacker,
  attackerAvailable,
  describe,
  layout,
} from "./attacker.ts";

const skip = await attackerAvailable();
if (skip !== null) {
  console.log(`local_attacker_test: skipped, ${skip}`);
}

Deno.test({
  name:
    "a folder swapped for a link while files arrive never sends one outside",
  ignore: skip !== null,
  async fn() {
    await using root = await tempDir();
    const { dest, outside } = await layout(root.path);
    await using source = await tempDir();
    const tree = join(source.path, "shared", "sub");
    await Deno.mkdir(tree, { recursive: true });
    const files = new Map<string, Uint8Array>();
    for (let i = 0; i < 150; i++) {
      const name = `f${String(i).padStart(3, "0")}.bin`;
      files.set(name, await randomFile(join(tree, name), 16 * 1024 + i));
    }
    await using server = await startServer(["--dir", dest]);
    // The attacker swaps dest/shared/sub for a link to its own folder and
    // back, as fast as it can, for as long as the transfer lasts.
    const swapper = attacker(`
      cd ${dest}/shared || exit 1
      while :; do
        mv sub real 2>/dev/null && ln -s ${outside} sub 2>/dev/null
        rm -f sub 2>/dev/null; mv real sub 2>/dev/null
      done`);
    try {
      // The attacker may win a run (a link in place when the server looks
      // ends that session): the same command again, until files arrive.
      const verified: string[] = [];
      const outputs: string[] = [];
      for (let run = 0; run < 5 && verified.length === 0; run++) {
        const client = await runClient([
          "--json",
          `127.0.0.1:${server.port}`,
          join(source.path, "shared"),
        ]);
        outputs.push(client.stdout + client.stderr);
        verified.push(
          ...client.stdout.split("\n").filter((line) =>
            line.includes('"type":"file-verified"')
          ).map((line) => JSON.parse(line).path as string),
        );
        assert.deepEqual(await describe(outside), [], "nothing outside");
      }
      assert.ok(verified.length > 0, outputs.join("\n"));
      swapper.kill("SIGKILL");
      await swapper.status;
      await sleep(50);
      // Put the folder back where it belongs, wherever the attacker left it.
      await Deno.remove(join(dest, "shared/sub")).catch(() => {});
      await Deno.rename(join(dest, "shared/real"), join(dest, "shared/sub"))
        .catch(() => {});
      assert.deepEqual(await describe(outside), [], "nothing outside");
      for (const path of verified) {
        const name = path.split("/").pop()!;
        assert.deepEqual(
          await Deno.readFile(join(dest, path)),
          files.get(name),
          `${path} holds its own bytes`,
        );
      }
    } finally {
      try {
        swapper.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await swapper.status;
    }
    // The server still serves.
    const after = await runClient([`127.0.0.1:${server.port}`, "main.txt"]);
    assert.equal(after.code, 0, after.stderr);
  },
});

Deno.test({
  name:
    "nothing planted in the destination is adopted, followed or written through",
  ignore: skip !== null,
  async fn() {
    await using root = await tempDir();
    const { dest, shared, outside } = await layout(root.path);
    const own = join(outside, "own.txt");
    // What the attacker plants: data that looks like an old kept file, a
    // hard link to a file of its own, and a try at the staging folder.
    const planted = await asAttacker(`
      printf EVIL > ${shared}/.report.pdf.ftpart
      printf 'client data!!' > ${own} && chmod 640 ${own}
      ln ${own} ${shared}/linked.txt
      touch ${dest}/${STAGING_NAME}/x 2>&1 || echo staging refused`);
    assert.equal(planted.code, 0, planted.output);
    await using source = await tempDir();
    await Deno.mkdir(join(source.path, "shared"));
    const report = await randomFile(
      join(source.path, "shared/report.pdf"),
      200_000,
    );
    // Same size as the linked file, to tempt a comparison.
    await Deno.writeTextFile(
      join(source.path, "shared/linked.txt"),
      "client data!!",
    );
    const before = await describe(outside);

    const server = await startServer(["--dir", dest]);
    const staging = await asAttacker(`touch ${dest}/${STAGING_NAME}/x`);
    assert.notEqual(staging.code, 0, "the staging folder is closed to others");
    const first = await runClient([
      "--json",
      `127.0.0.1:${server.port}`,
      join(source.path, "shared"),
    ]);
    assert.equal(first.code, 1, first.stdout + first.stderr);
    const events = first.stdout.split("\n").filter((line) => line !== "")
      .map((line) => JSON.parse(line));
    const start = events.find((event) =>
      event.type === "file-start" && event.path === "shared/report.pdf"
    );
    assert.equal(start?.offset, 0, "the planted data is not resumed from");
    assert.ok(
      events.some((event) =>
        event.type === "file-verified" && event.path === "shared/report.pdf"
      ),
    );
    assert.ok(
      events.some((event) =>
        event.type === "file-failed" && event.path === "shared/linked.txt"
      ),
      "a linked file is never taken as the same",
    );
    assert.deepEqual(await Deno.readFile(join(shared, "report.pdf")), report);
    const saved = await Deno.lstat(join(shared, "report.pdf"));
    assert.equal(saved.uid, 0, "the server's own file");
    assert.equal(saved.nlink, 1);
    assert.equal(
      await Deno.readTextFile(join(shared, ".report.pdf.ftpart")),
      "EVIL",
    );
    assert.deepEqual(await describe(outside), before, "outside unchanged");
    await server[Symbol.asyncDispose]();

    // With --overwrite the link is replaced, never written through.
    await using again = await startServer(["--dir", dest, "--overwrite"]);
    const second = await runClient([
      `127.0.0.1:${again.port}`,
      join(source.path, "shared"),
    ]);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.equal(
      await Deno.readTextFile(join(shared, "linked.txt")),
      "client data!!",
    );
    assert.equal((await Deno.lstat(join(shared, "linked.txt"))).nlink, 1);
    assert.deepEqual(await describe(outside), before, "outside unchanged");
  },
});

Deno.test({
  name: "a staging folder that is not the server's own is refused at start",
  ignore: skip !== null,
  async fn() {
    for (const plant of ["mkdir -m 700", "ln -s /tmp"]) {
      await using root = await tempDir();
      await Deno.chmod(root.path, 0o755);
      const dest = join(root.path, "dest");
      await Deno.mkdir(dest);
      await Deno.chmod(dest, 0o777);
      const planted = await asAttacker(
        plant.startsWith("ln")
          ? `${plant} ${dest}/${STAGING_NAME}`
          : `${plant} ${dest}/${STAGING_NAME}`,
      );
      assert.equal(planted.code, 0, planted.output);
      const server = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "server.ts", "--port", "0", "--dir", dest],
        cwd: ROOT,
        env: { FT_CODE: TEST_CODE },
        stdin: "null",
      }).output();
      const stderr = new TextDecoder().decode(server.stderr);
      assert.equal(server.code, 1, stderr);
      assert.match(stderr, /\.ft-staging.*remove it or choose another --dir/);
      assert.equal(stderr.trim().split("\n").length, 1, stderr);
    }
  },
});
