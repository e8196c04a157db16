/**
 * `client.ts` given sources it cannot send: each fails with one line naming
 * it, and the server is left as it was.
 *
 * The checks every case gets are in `hostile_harness.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { listTree, runClient, startServer, tempDir } from "./helpers.ts";
import { Harness } from "./hostile_harness.ts";

Deno.test("hostile: sources the client cannot send", async (t) => {
  await using tmp = await tempDir();
  const args = await Harness.layout(tmp.path);
  await using server = await startServer(args);
  const h = new Harness(tmp.path, server);

  /** Runs the client on `source`; it must fail with one line naming it. */
  async function cannotSend(source: string, why: string): Promise<void> {
    const before = await listTree(tmp.path);
    const stdoutMark = server.stdout.length;
    const stderrMark = server.stderr.length;
    const result = await runClient([h.address, source]);
    assert.notEqual(result.code, 0);
    assert.equal(result.stdout, "");
    assert.deepEqual(result.stderr.trimEnd().split("\n"), [
      `client: Cannot send ${source}: ${why}`,
    ]);
    // The client gave up before connecting: the server saw nothing.
    assert.equal(server.stdout.slice(stdoutMark), "");
    assert.equal(server.stderr.slice(stderrMark), "");
    assert.deepEqual(await listTree(tmp.path), before);
    await h.assertClean();
    await h.probe();
  }

  await h.step(
    t,
    "a source that does not exist",
    () => cannotSend(join(h.src, "no-such-file.txt"), "no such file or folder"),
  );
  await h.step(t, "a FIFO as source", async () => {
    const fifo = join(h.src, "pipe");
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.equal(made.code, 0);
    await cannotSend(fifo, "not a file or folder");
  });
  await h.step(t, "a FIFO inside a folder is skipped", async () => {
    const folder = join(h.src, "withfifo");
    await Deno.mkdir(folder);
    await Deno.writeTextFile(join(folder, "ok.txt"), "ok\n");
    const made = await new Deno.Command("mkfifo", {
      args: [join(folder, "pipe")],
    }).output();
    assert.equal(made.code, 0);
    const result = await runClient([h.address, folder]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stderr.trimEnd().split("\n"), [
      `warning: Skipping ${join(folder, "pipe")}: not a regular file or folder`,
    ]);
    assert.deepEqual(await listTree(join(h.dest, "withfifo")), ["ok.txt"]);
    await h.assertClean();
  });
  await h.step(t, "an unreadable file", async () => {
    const locked = join(h.src, "locked.txt");
    await Deno.writeTextFile(locked, "secret\n");
    await Deno.chmod(locked, 0o000);
    if (Deno.uid() === 0) {
      console.log(
        "skipped: running as root, which can read a file with mode 000",
      );
      return;
    }
    await cannotSend(locked, "permission denied");
  });
  await h.step(
    t,
    "the same server serves a normal client",
    () => h.normalTransfer("after-sources.txt"),
  );
});
