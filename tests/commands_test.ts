/**
 * The commands the programs print work from where the user is: run by a
 * path, a program names the other by the path that reaches it from the
 * current folder (relative inside it, absolute outside, quoted when it
 * has a space); installed by `deno task install`, it names `ft-client`
 * and `ft-server`. Each printed client command is then run as printed,
 * by a shell in the same folder, and must carry a file across.
 *
 * @module
 */

import assert from "node:assert/strict";
import { basename, dirname, join } from "node:path";
import { install } from "../scripts/install.ts";
import { shellWord } from "../lib/cli/cli.ts";
import {
  ROOT,
  runProgram,
  ServerProcess,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";

/** What a copy of the tool needs: the programs, their modules, deno.json. */
const TOOL_FILES = [
  "server.ts",
  "client.ts",
  "protocol.ts",
  "deno.json",
  "deno.lock",
  "lib",
];

/**
 * Starts a receiving server as `command` `args` in `cwd`, and returns the
 * client command it prints for this machine, with the server.
 */
async function printedCommand(
  command: string,
  args: string[],
  cwd: string,
  dest: string,
  env: Record<string, string> = {},
): Promise<{ server: ServerProcess; line: string }> {
  const child = new Deno.Command(command, {
    args: [
      ...args,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--no-discover",
      "--dir",
      dest,
      "--once",
    ],
    cwd,
    env: { FT_CODE: TEST_CODE, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const server = new ServerProcess(child);
  await server.listening();
  const match = await server.waitFor(
    /^On this machine, send files with:\n {2}(.+) FILE\.\.\.$/m,
  );
  return { server, line: match[1] };
}

/**
 * Runs the printed `line` with `file` in `cwd` through a shell, as a user
 * would paste it, and checks that `file` arrived in `dest`.
 */
async function runPrinted(
  line: string,
  file: string,
  cwd: string,
  dest: string,
  server: ServerProcess,
  env: Record<string, string> = {},
): Promise<void> {
  const client = await runProgram("sh", ["-c", `${line} ${file}`], {
    cwd,
    env: { ...Deno.env.toObject(), FT_CODE: TEST_CODE, ...env },
  });
  assert.equal(client.code, 0, `${line}:\n${client.stderr}`);
  const finished = await server.exited();
  assert.equal(finished.code, 0, finished.stderr);
  assert.equal(
    await Deno.readTextFile(join(dest, basename(file))),
    await Deno.readTextFile(join(cwd, file)),
  );
}

Deno.test("run inside the checkout, the server prints the client as client.ts", async () => {
  await using dest = await tempDir();
  const { server, line } = await printedCommand(
    Deno.execPath(),
    ["run", "-A", "server.ts"],
    ROOT,
    dest.path,
  );
  assert.match(line, /^deno run -A client\.ts 127\.0\.0\.1:\d+$/);
  await runPrinted(line, "main.txt", ROOT, dest.path, server);
});

Deno.test("run by a relative path from above, the server prints the client by that path", async () => {
  await using dest = await tempDir();
  const above = dirname(ROOT.replace(/\/$/, ""));
  const folder = basename(ROOT.replace(/\/$/, ""));
  const { server, line } = await printedCommand(
    Deno.execPath(),
    ["run", "-A", `${folder}/server.ts`],
    above,
    dest.path,
  );
  assert.match(
    line,
    new RegExp(`^deno run -A ${folder}/client\\.ts 127\\.0\\.0\\.1:\\d+$`),
  );
  await runPrinted(line, `${folder}/main.txt`, above, dest.path, server);
});

Deno.test("run by its absolute path from elsewhere, both programs print absolute paths", async () => {
  await using dest = await tempDir();
  await using elsewhere = await tempDir();
  await Deno.writeTextFile(join(elsewhere.path, "note.txt"), "from elsewhere");
  const { server, line } = await printedCommand(
    Deno.execPath(),
    ["run", "-A", join(ROOT, "server.ts")],
    elsewhere.path,
    dest.path,
  );
  assert.equal(
    line.replace(/:\d+$/, ""),
    `deno run -A ${join(ROOT, "client.ts")} 127.0.0.1`,
  );
  await runPrinted(line, "note.txt", elsewhere.path, dest.path, server);
  const help = await runProgram(
    Deno.execPath(),
    ["run", "-A", join(ROOT, "client.ts"), "--help"],
    { cwd: elsewhere.path },
  );
  assert.match(
    help.stdout,
    new RegExp(
      `^Usage: deno run -A ${join(ROOT, "client\\.ts")} \\[options\\]`,
      "m",
    ),
  );
});

Deno.test("a copy of the folder under a name with a space works, and is printed quoted", async () => {
  await using dest = await tempDir();
  await using home = await tempDir();
  const copy = join(home.path, "my tools", "ft");
  await Deno.mkdir(copy, { recursive: true });
  const cp = await runProgram("cp", ["-R", ...TOOL_FILES, copy]);
  assert.equal(cp.code, 0, cp.stderr);
  await Deno.writeTextFile(join(home.path, "note.txt"), "from a copy");
  const { server, line } = await printedCommand(
    Deno.execPath(),
    ["run", "-A", "my tools/ft/server.ts"],
    home.path,
    dest.path,
  );
  assert.match(
    line,
    /^deno run -A 'my tools\/ft\/client\.ts' 127\.0\.0\.1:\d+$/,
  );
  await runPrinted(line, "note.txt", home.path, dest.path, server);
});

Deno.test({
  name: "a word quoted for the shell reads back as itself",
  ignore: Deno.build.os === "windows",
  async fn() {
    for (
      const word of [
        "plain/path.ts",
        "my tools/ft",
        "it's here",
        "$HOME `x` \\ *",
      ]
    ) {
      const echoed = await runProgram("sh", [
        "-c",
        `printf %s ${shellWord(word)}`,
      ]);
      assert.equal(echoed.stdout, word);
    }
    assert.equal(shellWord("plain/path.ts"), "plain/path.ts");
  },
});

/**
 * Why `deno task install` cannot install here, found by installing into a
 * temporary root that the test uses; null when it can.
 */
async function installInto(root: string): Promise<string | null> {
  try {
    await install(root);
    return null;
  } catch (error) {
    return error instanceof Error
      ? error.message.split("\n")[1] ?? error.message
      : String(error);
  }
}

const installRoot = await Deno.makeTempDir({ prefix: "ft-install-" });
const installProblem = Deno.build.os === "windows"
  ? "the installed commands are .cmd files there"
  : await installInto(installRoot);
if (installProblem !== null) {
  console.log(`commands_test.ts: install test ignored: ${installProblem}`);
  await Deno.remove(installRoot, { recursive: true });
}

Deno.test({
  name:
    "installed by deno task install, ft-server prints ft-client, which works as printed",
  ignore: installProblem !== null,
  async fn() {
    try {
      await using dest = await tempDir();
      await using elsewhere = await tempDir();
      await Deno.writeTextFile(join(elsewhere.path, "note.txt"), "installed");
      const bin = join(installRoot, "bin");
      const wrapper = await Deno.readTextFile(join(bin, "ft-client"));
      // The narrow permissions of scripts/permissions.ts, not -A.
      assert.match(wrapper, /--allow-env=FT_CODE/);
      assert.doesNotMatch(wrapper, /--allow-all|-A /);
      const path = `${bin}:${Deno.env.get("PATH")}`;
      const { server, line } = await printedCommand(
        join(bin, "ft-server"),
        [],
        elsewhere.path,
        dest.path,
        { PATH: path },
      );
      assert.match(line, /^ft-client 127\.0\.0\.1:\d+$/);
      await runPrinted(line, "note.txt", elsewhere.path, dest.path, server, {
        PATH: path,
      });
      const help = await runProgram(join(bin, "ft-client"), ["--help"], {
        cwd: elsewhere.path,
        env: { PATH: path },
      });
      assert.match(help.stdout, /^Usage: ft-client \[options\]/m);
    } finally {
      await Deno.remove(installRoot, { recursive: true });
    }
  },
});
