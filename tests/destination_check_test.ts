/**
 * A destination that cannot be written is found before any data: the
 * server (and `client.ts --get`) refuses to start with one line naming the
 * folder and the way out, and a folder that became unwritable since the
 * start refuses each session, which the client shows in one line. The
 * read-only cases mount a small tmpfs; the permission cases run the
 * server as root without CAP_DAC_OVERRIDE (setpriv), so that a folder of
 * another user is closed to it. Each is skipped, with the reason printed,
 * where that cannot be done.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Finished,
  listTree,
  ROOT,
  runClient,
  runProgram,
  ServerProcess,
  stagedFiles,
  startServer,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";
import { NOBODY, noOverrideUnavailable, withoutOverride } from "./attacker.ts";

/** Runs `command` with `args`; null when it worked, else why not. */
async function attempt(
  command: string,
  args: string[],
): Promise<string | null> {
  try {
    const output = await new Deno.Command(command, { args, stderr: "piped" })
      .output();
    if (output.success) return null;
    return new TextDecoder().decode(output.stderr).trim() ||
      `${command} failed`;
  } catch (error) {
    return String(error);
  }
}

/** Runs `server.ts` with `args` to its end (a server that refuses to start). */
function runServer(args: string[]): Promise<Finished> {
  return runProgram(Deno.execPath(), [
    "run",
    "-A",
    `${ROOT}server.ts`,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    ...args,
  ], { env: { FT_CODE: TEST_CODE } });
}

/** A tmpfs at a new temporary folder, unmounted and removed on dispose. */
async function tmpfs(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "ft-ro-" });
  const failure = await attempt("mount", [
    "-t",
    "tmpfs",
    "-o",
    "size=8m",
    "tmpfs",
    path,
  ]);
  if (failure !== null) {
    await Deno.remove(path);
    throw new Error(failure);
  }
  return {
    path,
    async [Symbol.asyncDispose]() {
      await attempt("umount", [path]);
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

const noMount = await tmpfs().then(
  async (disk) => {
    await disk[Symbol.asyncDispose]();
    return null;
  },
  (error) => String(error.message ?? error),
);
if (noMount !== null) {
  console.log(`destination_check_test: read-only cases skipped: ${noMount}`);
}
const noSetpriv = await noOverrideUnavailable();
if (noSetpriv !== null) {
  console.log(`destination_check_test: permission cases skipped: ${noSetpriv}`);
}

/** Asserts that `result` is exit status 1 with the one line `pattern`. */
function refused(result: Finished, pattern: RegExp): void {
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], pattern);
}

Deno.test("a --dir that is a file, or under one, refuses the start in one line", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "notes.txt");
  await Deno.writeTextFile(file, "not a folder\n");
  refused(
    await runServer(["--dir", file]),
    new RegExp(
      `^server: ${file} is a file, not a folder: give --dir a folder, or a name not yet taken$`,
    ),
  );
  refused(
    await runServer(["--dir", join(file, "inbox")]),
    /^server: Cannot make the folder .*notes\.txt\/inbox: part of that path is a file, not a folder; give --dir a folder/,
  );
  // The client with --get checks its folder before it asks for the code.
  refused(
    await runClient(["--get", "127.0.0.1:9", "--dir", file], {
      env: { FT_CODE: "" },
    }),
    new RegExp(`^client: ${file} is a file, not a folder: give --dir a folder`),
  );
  assert.equal(await Deno.readTextFile(file), "not a folder\n");
});

Deno.test({
  name:
    "a read-only --dir refuses the start, and a folder gone read-only each session",
  ignore: noMount !== null,
  async fn() {
    await using disk = await tmpfs();
    await attempt("mount", ["-o", "remount,ro", disk.path]);
    for (const dest of [disk.path, join(disk.path, "inbox")]) {
      refused(
        await runServer(["--dir", dest]),
        new RegExp(
          `^server: Cannot write into ${dest}: the file system is read-only; choose a --dir on a writable disk$`,
        ),
      );
    }
    refused(
      await runClient(["--get", "127.0.0.1:9", "--dir", disk.path]),
      /^client: Cannot write into .*: the file system is read-only; choose a --dir/,
    );
    await attempt("mount", ["-o", "remount,rw", disk.path]);
    await using source = await tempDir();
    await Deno.writeTextFile(join(source.path, "a.txt"), "a\n");
    await using server = await startServer(["--dir", disk.path]);
    await attempt("mount", ["-o", "remount,ro", disk.path]);
    const result = await runClient([
      `127.0.0.1:${server.port}`,
      join(source.path, "a.txt"),
    ]);
    refused(
      result,
      /^client: Server error: The server cannot save into its folder "ft-ro-\w+": the file system is read-only; nothing was sent: the server's side must make it writable or restart the server with another --dir$/,
    );
    await server.waitFor(/\] error: The server cannot save into its folder/);
    assert.doesNotMatch(server.stdout + server.stderr, /file-start|resuming/);
    // The folder is writable again: the next session goes through.
    await attempt("mount", ["-o", "remount,rw", disk.path]);
    const again = await runClient([
      `127.0.0.1:${server.port}`,
      join(source.path, "a.txt"),
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await listTree(disk.path), ["a.txt"]);
  },
});

/** Starts `server.ts` without root's power over others' files. */
async function startServerWithoutOverride(
  args: string[],
): Promise<ServerProcess> {
  const child = new Deno.Command("setpriv", {
    args: withoutOverride("server", [
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      ...args,
    ]),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { FT_CODE: TEST_CODE },
  }).spawn();
  const server = new ServerProcess(child);
  await server.listening();
  return server;
}

Deno.test({
  name:
    "another user's folder refuses the start, and one closed since each session",
  ignore: noSetpriv !== null,
  async fn() {
    await using dir = await tempDir();
    const dest = join(dir.path, "theirs");
    await Deno.mkdir(dest, { mode: 0o755 });
    await Deno.chown(dest, NOBODY, NOBODY);
    const result = await runProgram(
      "setpriv",
      withoutOverride("server", ["--port", "0", "--dir", dest]),
      { env: { FT_CODE: TEST_CODE } },
    );
    refused(
      result,
      new RegExp(
        `^server: Cannot write into ${dest}: permission denied for this user; choose a --dir this user can write to, or give it write permission there \\(chown or chmod\\)$`,
      ),
    );
    // Open to all at the start, closed while the server runs.
    await Deno.chmod(dest, 0o777);
    await using server = await startServerWithoutOverride(["--dir", dest]);
    await Deno.chmod(dest, 0o755);
    await using source = await tempDir();
    await Deno.writeTextFile(join(source.path, "a.txt"), "a\n");
    refused(
      await runClient([`127.0.0.1:${server.port}`, join(source.path, "a.txt")]),
      /^client: Server error: The server cannot save into its folder "theirs": permission denied; nothing was sent/,
    );
    assert.deepEqual(await listTree(dest), []);
    assert.deepEqual(await stagedFiles(dest), []);
  },
});

Deno.test({
  name:
    "a folder the server cannot create is refused with what it holds, and the rest arrives",
  ignore: noSetpriv !== null,
  async fn() {
    await using dir = await tempDir();
    const dest = join(dir.path, "open");
    // Open to all, but its folder "tree" is another user's, closed to the
    // server.
    await Deno.mkdir(join(dest, "tree"), { recursive: true, mode: 0o755 });
    await Deno.chmod(dest, 0o777);
    await Deno.chown(join(dest, "tree"), NOBODY, NOBODY);
    await using server = await startServerWithoutOverride(["--dir", dest]);
    await using source = await tempDir();
    await Deno.mkdir(join(source.path, "tree/-dash/deeper"), {
      recursive: true,
    });
    await Deno.writeTextFile(join(source.path, "tree/-dash/in.txt"), "in\n");
    await Deno.writeTextFile(join(source.path, "tree/-dash/deeper/x"), "x\n");
    await Deno.writeTextFile(join(source.path, "tree/top.txt"), "top\n");
    await Deno.writeTextFile(join(source.path, "a.txt"), "a\n");
    const result = await runClient([
      `127.0.0.1:${server.port}`,
      join(source.path, "a.txt"),
      join(source.path, "tree"),
    ]);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(
      result.stdout,
      /^1 of 4 files sent and verified, 0 already there, 5 failed$/m,
    );
    assert.match(
      result.stderr,
      /tree\/-dash: refused by the server: cannot be created: permission denied on the server/i,
    );
    assert.match(
      result.stderr,
      /tree\/-dash\/in\.txt: refused by the server: its folder "tree\/-dash" cannot be created/,
    );
    assert.match(
      result.stderr,
      /tree\/-dash\/deeper\/x: refused by the server: its folder "tree\/-dash" cannot be created/,
    );
    assert.deepEqual(await listTree(dest), ["a.txt", "tree/"]);
    assert.deepEqual(await stagedFiles(dest), []);
  },
});
