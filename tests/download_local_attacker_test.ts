/**
 * A local attacker in the folder a client gets files into, as
 * `local_attacker_test.ts` has one in the server's destination: another
 * user who can write into a folder of `--dir` plants, swaps and links
 * things there while `client.ts --get`, running as root, receives. The
 * attacker's steps run as `nobody` with setpriv; without root or setpriv,
 * the tests say they are skipped.
 *
 * Each test checks that nothing outside the folder changed, that no wrong
 * bytes ever appear under a final name, and that nothing planted is
 * adopted.
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
  console.log(`download_local_attacker_test: skipped, ${skip}`);
}

/** The paths of the files a `--json` run says it received. */
function received(stdout: string): string[] {
  return stdout.split("\n").filter((line) =>
    line.includes('"type":"file-verified"')
  ).map((line) => JSON.parse(line).path as string);
}

Deno.test({
  name:
    "a folder swapped for a link while files arrive never sends one outside the client's folder",
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
    await using server = await startServer([
      "--share",
      "--keep-sharing",
      join(source.path, "shared"),
    ]);
    // The attacker swaps dest/shared/sub for a link to its own folder and
    // back, as fast as it can, for as long as the download lasts.
    const swapper = attacker(`
      cd ${dest}/shared || exit 1
      while :; do
        mv sub real 2>/dev/null && ln -s ${outside} sub 2>/dev/null
        rm -f sub 2>/dev/null; mv real sub 2>/dev/null
      done`);
    try {
      // The attacker may win a run (a link in place when the client looks
      // ends that session): the same command again, until files arrive.
      const verified: string[] = [];
      const outputs: string[] = [];
      for (let run = 0; run < 5 && verified.length === 0; run++) {
        const client = await runClient([
          "--get",
          "--json",
          "--retries",
          "0",
          `127.0.0.1:${server.port}`,
          "--dir",
          dest,
        ]);
        outputs.push(client.stdout + client.stderr);
        verified.push(...received(client.stdout));
        assert.deepEqual(await describe(outside), [], "nothing outside");
      }
      assert.ok(verified.length > 0, outputs.join("\n"));
      console.log(
        `${verified.length} of 150 files received in ${outputs.length} runs`,
      );
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
  },
});

Deno.test({
  name:
    "nothing planted in the client's folder is adopted, followed or written through",
  ignore: skip !== null,
  async fn() {
    await using root = await tempDir();
    const { dest, shared, outside } = await layout(root.path);
    const own = join(outside, "own.txt");
    // What the attacker plants: data that looks like an old kept file, and
    // a hard link to a file of its own.
    const planted = await asAttacker(`
      printf EVIL > ${shared}/.report.pdf.ftpart
      printf 'sharer data!!' > ${own} && chmod 640 ${own}
      ln ${own} ${shared}/linked.txt`);
    assert.equal(planted.code, 0, planted.output);
    await using source = await tempDir();
    await Deno.mkdir(join(source.path, "shared"));
    const report = await randomFile(
      join(source.path, "shared/report.pdf"),
      200_000,
    );
    // Same content as the linked file, to tempt a comparison.
    await Deno.writeTextFile(
      join(source.path, "shared/linked.txt"),
      "sharer data!!",
    );
    const before = await describe(outside);
    await using server = await startServer([
      "--share",
      "--keep-sharing",
      join(source.path, "shared"),
    ]);
    const get = ["--get", `127.0.0.1:${server.port}`, "--dir", dest];
    const first = await runClient(["--json", ...get]);
    assert.equal(first.code, 1, first.stdout + first.stderr);
    const events = first.stdout.split("\n").filter((line) => line !== "")
      .map((line) => JSON.parse(line));
    const start = events.find((event) =>
      event.type === "file-start" && event.path === "shared/report.pdf"
    );
    assert.equal(start?.offset, 0, "the planted data is not resumed from");
    assert.ok(received(first.stdout).includes("shared/report.pdf"));
    assert.ok(
      events.some((event) =>
        event.type === "file-failed" && event.path === "shared/linked.txt"
      ),
      "a linked file is never taken as the same",
    );
    assert.deepEqual(await Deno.readFile(join(shared, "report.pdf")), report);
    const saved = await Deno.lstat(join(shared, "report.pdf"));
    assert.equal(saved.uid, 0, "the client's own file");
    assert.equal(saved.nlink, 1);
    assert.equal(
      await Deno.readTextFile(join(shared, ".report.pdf.ftpart")),
      "EVIL",
    );
    assert.deepEqual(await describe(outside), before, "outside unchanged");
    // The client's staging folder is closed to others.
    const staging = await asAttacker(`touch ${dest}/${STAGING_NAME}/x`);
    assert.notEqual(staging.code, 0, staging.output);

    // With --overwrite the link is replaced, never written through.
    const second = await runClient(["--overwrite", ...get]);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.equal(
      await Deno.readTextFile(join(shared, "linked.txt")),
      "sharer data!!",
    );
    assert.equal((await Deno.lstat(join(shared, "linked.txt"))).nlink, 1);
    assert.deepEqual(await describe(outside), before, "outside unchanged");
  },
});

Deno.test({
  name: "a staging folder that is not the client's own is refused at start",
  ignore: skip !== null,
  async fn() {
    for (const plant of ["mkdir -m 700", "ln -s /tmp"]) {
      await using root = await tempDir();
      await Deno.chmod(root.path, 0o755);
      const dest = join(root.path, "dest");
      await Deno.mkdir(dest);
      await Deno.chmod(dest, 0o777);
      const planted = await asAttacker(`${plant} ${dest}/${STAGING_NAME}`);
      assert.equal(planted.code, 0, planted.output);
      // Refused before it connects anywhere: no server is needed.
      const client = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "client.ts", "--get", "127.0.0.1:1", "--dir", dest],
        cwd: ROOT,
        env: { FT_CODE: TEST_CODE },
        stdin: "null",
      }).output();
      const stderr = new TextDecoder().decode(client.stderr);
      assert.equal(client.code, 1, stderr);
      assert.match(
        stderr,
        plant.startsWith("ln")
          ? /^client: .*\.ft-staging is a symbolic link, not the client's staging folder: remove it or choose another --dir\n$/
          : /^client: .*\.ft-staging belongs to another user or is open to others .*: remove it or choose another --dir\n$/,
      );
    }
  },
});
