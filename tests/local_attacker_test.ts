/**
 * A local attacker: another user of the receiving side's machine who can
 * write into a folder of the destination (or into the destination itself)
 * and plants, swaps and links things there while the side that receives,
 * running as root, saves files: the server in an upload, `client.ts --get`
 * in a download (see `directions.ts`). The attacker's steps run as
 * `nobody` with setpriv; without root or setpriv, the tests say they are
 * skipped.
 *
 * Each test checks that nothing outside the destination changed, that no
 * wrong bytes ever appear under a final name, that nothing planted is
 * adopted, and, in an upload, that the server keeps serving.
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
import { DIRECTIONS, receiverOf, startTransfer } from "./directions.ts";

const skip = await attackerAvailable();
if (skip !== null) {
  console.log(`local_attacker_test: skipped, ${skip}`);
}

/** The events of a `--json` run. */
function events(stdout: string): { type: string; [key: string]: unknown }[] {
  return stdout.split("\n").filter((line) => line !== "")
    .map((line) => JSON.parse(line));
}

/** The paths of the files a `--json` run says were verified. */
function verifiedPaths(stdout: string): string[] {
  return events(stdout).filter((event) => event.type === "file-verified")
    .map((event) => event.path as string);
}

for (const direction of DIRECTIONS) {
  const receiver = receiverOf(direction);

  Deno.test({
    name:
      `a folder swapped for a link while files arrive never sends one outside (${direction})`,
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
      await using transfer = await startTransfer(direction, {
        sources: [join(source.path, "shared")],
        dest,
        keep: true,
      });
      // The attacker swaps dest/shared/sub for a link to its own folder and
      // back, as fast as it can, for as long as the transfer lasts.
      const swapper = attacker(`
        cd ${dest}/shared || exit 1
        while :; do
          mv sub real 2>/dev/null && ln -s ${outside} sub 2>/dev/null
          rm -f sub 2>/dev/null; mv real sub 2>/dev/null
        done`);
      try {
        // The attacker may win a run (a link in place when the receiving
        // side looks ends that session): the same command again, until
        // files arrive. A client that gets files would retry on its own.
        const verified: string[] = [];
        const outputs: string[] = [];
        for (let run = 0; run < 5 && verified.length === 0; run++) {
          const client = await transfer.run([
            "--json",
            ...(direction === "download" ? ["--retries", "0"] : []),
          ]);
          outputs.push(client.stdout + client.stderr);
          verified.push(...verifiedPaths(client.stdout));
          assert.deepEqual(await describe(outside), [], "nothing outside");
        }
        assert.ok(verified.length > 0, outputs.join("\n"));
        console.log(
          `${verified.length} of 150 files received in ${outputs.length} runs`,
        );
        swapper.kill("SIGKILL");
        await swapper.status;
        await sleep(50);
        // Put the folder back where it belongs, wherever the attacker left
        // it.
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
      if (direction === "upload") {
        // The server still serves.
        const after = await runClient([
          `127.0.0.1:${transfer.server.port}`,
          "main.txt",
        ]);
        assert.equal(after.code, 0, after.stderr);
      }
    },
  });

  Deno.test({
    name:
      `nothing planted in the destination is adopted, followed or written through (${direction})`,
    ignore: skip !== null,
    async fn() {
      await using root = await tempDir();
      const { dest, shared, outside } = await layout(root.path);
      const own = join(outside, "own.txt");
      // What the attacker plants: data that looks like an old kept file, a
      // hard link to a file of its own, and a try at the staging folder.
      const planted = await asAttacker(`
        printf EVIL > ${shared}/.report.pdf.ftpart
        printf 'sender data!!' > ${own} && chmod 640 ${own}
        ln ${own} ${shared}/linked.txt
        touch ${dest}/${STAGING_NAME}/x 2>&1 || echo staging refused`);
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
        "sender data!!",
      );
      const before = await describe(outside);
      const setup = { sources: [join(source.path, "shared")], dest };

      {
        await using transfer = await startTransfer(direction, {
          ...setup,
          keep: true,
        });
        const first = await transfer.run(["--json"]);
        assert.equal(first.code, 1, first.stdout + first.stderr);
        const seen = events(first.stdout);
        const start = seen.find((event) =>
          event.type === "file-start" && event.path === "shared/report.pdf"
        );
        assert.equal(start?.offset, 0, "the planted data is not resumed from");
        assert.ok(verifiedPaths(first.stdout).includes("shared/report.pdf"));
        assert.ok(
          seen.some((event) =>
            event.type === "file-failed" && event.path === "shared/linked.txt"
          ),
          "a linked file is never taken as the same",
        );
        assert.deepEqual(
          await Deno.readFile(join(shared, "report.pdf")),
          report,
        );
        const saved = await Deno.lstat(join(shared, "report.pdf"));
        assert.equal(saved.uid, 0, `the ${receiver}'s own file`);
        assert.equal(saved.nlink, 1);
        assert.equal(
          await Deno.readTextFile(join(shared, ".report.pdf.ftpart")),
          "EVIL",
        );
        assert.deepEqual(await describe(outside), before, "outside unchanged");
        const staging = await asAttacker(`touch ${dest}/${STAGING_NAME}/x`);
        assert.notEqual(
          staging.code,
          0,
          `the ${receiver}'s staging folder is closed to others`,
        );
      }

      // With --overwrite the link is replaced, never written through.
      await using again = await startTransfer(direction, {
        ...setup,
        receiver: ["--overwrite"],
      });
      const second = await again.run();
      assert.equal(second.code, 0, second.stdout + second.stderr);
      assert.equal(
        await Deno.readTextFile(join(shared, "linked.txt")),
        "sender data!!",
      );
      assert.equal((await Deno.lstat(join(shared, "linked.txt"))).nlink, 1);
      assert.deepEqual(await describe(outside), before, "outside unchanged");
    },
  });

  Deno.test({
    name:
      `a staging folder that is not the ${receiver}'s own is refused at start (${direction})`,
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
        // Refused before it listens or connects: a client that gets files
        // needs no server for that.
        const args = direction === "upload"
          ? ["server.ts", "--port", "0", "--dir", dest]
          : ["client.ts", "--get", "127.0.0.1:1", "--dir", dest];
        const run = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", ...args],
          cwd: ROOT,
          env: { FT_CODE: TEST_CODE },
          stdin: "null",
        }).output();
        const stderr = new TextDecoder().decode(run.stderr);
        assert.equal(run.code, 1, stderr);
        assert.match(
          stderr,
          new RegExp(
            plant.startsWith("ln")
              ? `^${receiver}: .*\\.ft-staging is a symbolic link, not the ${receiver}'s staging folder: remove it or choose another --dir\\n$`
              : `^${receiver}: .*\\.ft-staging belongs to another user or is open to others .*: remove it or choose another --dir\\n$`,
          ),
        );
      }
    },
  });
}
