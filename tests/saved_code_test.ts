/**
 * The code a server made up outlives it: kept in its private staging
 * folder, the same at the next start with the same destination (so that a
 * client retrying across a restart gets through), a new one with
 * `--new-code`; a file in its place that the server did not write is set
 * aside with one line. With real server and client processes on loopback.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, waitForPause, waitForSize } from "./conditions.ts";
import { FaultProxy } from "./fault_proxy.ts";
import {
  finish,
  randomFile,
  type ServerProcess,
  spawnClient,
  stagedPath,
  startServer,
  tempDir,
} from "./helpers.ts";
import { CODE_FILE } from "../lib/store/saved_code.ts";
import { STAGING_NAME } from "../lib/store/staging.ts";

const MiB = 1024 * 1024;

/** No code from the environment: the server makes one up, or reuses it. */
const NO_CODE = { FT_CODE: "" };

/** The code a server printed. */
async function printedCode(server: ServerProcess): Promise<string> {
  return (await server.waitFor(/^Code: (\d+-[a-z]+-[a-z]+-[a-z]+)$/m))[1];
}

/**
 * Waits until `server` accepts connections: it has set up its handling of
 * Ctrl-C by then (a SIGINT before would end it at once, with status 130).
 * Its hello, which it sends on every connection at once, says so.
 */
async function serving(server: ServerProcess): Promise<void> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await conn.read(new Uint8Array(1));
}

/** Stops `server` as Ctrl-C does, and returns what it said on stderr. */
async function interrupt(server: ServerProcess): Promise<string> {
  await serving(server);
  server.child.kill("SIGINT");
  const exit = await server.exited();
  assert.equal(exit.code, 0, exit.stderr);
  return exit.stderr;
}

Deno.test("a restarted server keeps its code, --new-code makes another, and its stop says how to restart", async () => {
  await using dest = await tempDir();
  const args = ["--dir", dest.path, "--no-discover"];
  const first = await startServer(args, NO_CODE);
  const code = await printedCode(first);
  const stopped = await interrupt(first);
  assert.match(
    stopped,
    new RegExp(
      // The port it had, not --port 0: clients retrying go there.
      `^server: stopped; start it again with the same code: deno run -A server\\.ts --host 127\\.0\\.0\\.1 --port ${first.port} --dir ${dest.path} --no-discover \\(the code is kept in ${dest.path}/\\.ft-staging; --new-code makes another\\)$`,
      "m",
    ),
  );
  const info = await Deno.lstat(join(dest.path, STAGING_NAME, CODE_FILE));
  assert.ok(info.isFile);
  assert.equal(info.mode! & 0o777, 0o600);

  const second = await startServer(args, NO_CODE);
  assert.equal(await printedCode(second), code);
  assert.match(second.stdout, /^\(the code of the last start, kept in /m);
  await interrupt(second);

  const renewed = await startServer([...args, "--new-code"], NO_CODE);
  const fresh = await printedCode(renewed);
  assert.notEqual(fresh, code);
  assert.doesNotMatch(renewed.stdout, /the code of the last start/);
  // The way to start it again leaves --new-code out: it would change it.
  assert.doesNotMatch(await interrupt(renewed), /--new-code --/);

  await using again = await startServer(args, NO_CODE);
  assert.equal(await printedCode(again), fresh);
});

Deno.test("a server without a destination keeps no code: its stop prints it with the command", async () => {
  await using source = await tempDir();
  await Deno.writeTextFile(join(source.path, "a.txt"), "a");
  const server = await startServer(
    ["--no-discover", "--share", join(source.path, "a.txt")],
    NO_CODE,
  );
  const code = await printedCode(server);
  assert.match(
    await interrupt(server),
    new RegExp(
      `^server: stopped; start it again with the same code: FT_CODE=${code} deno run -A server\\.ts .*--share ${source.path}/a\\.txt$`,
      "m",
    ),
  );
});

Deno.test("a code given to the server is neither kept nor shown when it stops", async () => {
  await using dest = await tempDir();
  const server = await startServer(["--dir", dest.path, "--no-discover"]);
  const stopped = await interrupt(server);
  assert.match(
    stopped,
    new RegExp(
      `by running the same command with the same FT_CODE and --port ${server.port}$`,
      "m",
    ),
  );
  assert.doesNotMatch(stopped + server.stdout, /test-code-for-the-suite/);
  await assert.rejects(
    Deno.lstat(join(dest.path, STAGING_NAME, CODE_FILE)),
    Deno.errors.NotFound,
  );
  const both = await startServer(
    ["--dir", dest.path, "--no-discover", "--new-code"],
  ).then(
    (server) => server.stop(),
    (error) => ({ stderr: String(error) }),
  );
  assert.match(
    both.stderr,
    /--new-code makes up a code: it does not go with one given \(FT_CODE\)/,
  );
});

Deno.test("a client retrying across a server restart gets through with the code it had", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const size = 120 * MiB;
  const data = await randomFile(join(source.path, "big.bin"), size);
  const port = freePort();
  const args = ["--dir", dest.path, "--port", `${port}`, "--no-discover"];
  const first = await startServer(args, NO_CODE);
  const code = await printedCode(first);
  // The proxy holds the transfer at 40 MiB, so that the server is killed
  // in the middle of it however fast it goes.
  await using proxy = new FaultProxy(port, () => ({ kind: "none" }));
  proxy.pauseAfter(40 * MiB);
  const client = spawnClient(
    [`127.0.0.1:${proxy.port}`, join(source.path, "big.bin")],
    { FT_CODE: code },
  );
  await waitForPause(proxy);
  await waitForSize(stagedPath(dest.path, "big.bin"), 30 * MiB);
  await first.stop();
  proxy.resume();
  await using second = await startServer(args, NO_CODE);
  assert.equal(await printedCode(second), code);
  const result = await finish(client);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /connection lost: .*; retrying in/);
  assert.doesNotMatch(result.stderr, /Wrong code/);
  assert.match(result.stdout, /resuming {2}big\.bin {2}from /);
  assert.deepEqual(await Deno.readFile(join(dest.path, "big.bin")), data);
});

/** What can be planted where the code is kept, and what the server says. */
const PLANTS: {
  what: string;
  plant: (path: string, elsewhere: string) => Promise<void>;
  says: RegExp;
  root?: boolean;
}[] = [
  {
    what: "a symbolic link",
    plant: (path, elsewhere) => Deno.symlink(elsewhere, path),
    says: /it is a symbolic link/,
  },
  {
    what: "a file open to others",
    plant: (path, elsewhere) =>
      Deno.copyFile(elsewhere, path).then(() => Deno.chmod(path, 0o644)),
    says: /it is open to other users \(mode 644\)/,
  },
  {
    what: "a hard link",
    plant: (path, elsewhere) => Deno.link(elsewhere, path),
    says: /it has more than one link/,
  },
  {
    what: "another user's file",
    plant: (path, elsewhere) =>
      Deno.copyFile(elsewhere, path).then(() => Deno.chown(path, 65534, 65534)),
    says: /it belongs to another user/,
    root: true,
  },
  {
    what: "a folder",
    plant: (path) => Deno.mkdir(path),
    says: /it is not a regular file/,
  },
];

for (const { what, plant, says, root } of PLANTS) {
  Deno.test({
    name: `${what} where the code is kept is set aside with one line`,
    ignore: root && Deno.uid() !== 0,
    async fn() {
      await using dest = await tempDir();
      await using outside = await tempDir();
      const planted = "1234-apple-river-stone";
      const elsewhere = join(outside.path, "code");
      await Deno.writeTextFile(elsewhere, `${planted}\n`, { mode: 0o600 });
      await Deno.chmod(elsewhere, 0o600);
      const staging = join(dest.path, STAGING_NAME);
      await Deno.mkdir(staging, { mode: 0o700 });
      await plant(join(staging, CODE_FILE), elsewhere);
      const args = ["--dir", dest.path, "--no-discover"];
      const server = await startServer(args, NO_CODE);
      const code = await printedCode(server);
      assert.notEqual(code, planted);
      const stderr = await interrupt(server);
      const lines = stderr.split("\n").filter((line) => /ignored/.test(line));
      assert.equal(lines.length, 1, stderr);
      assert.match(
        lines[0],
        new RegExp(`^warning: ignored ${staging}/code: ${says.source}`),
      );
      // What was planted is left as it was, outside.
      assert.equal(await Deno.readTextFile(elsewhere), `${planted}\n`);
      await using next = await startServer(args, NO_CODE);
      assert.equal(await printedCode(next), code);
    },
  });
}
