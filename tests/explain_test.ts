/**
 * Raw operating-system errors a user can cause, made by real calls on real
 * files and sockets, become one sentence with the way out, whichever API
 * raised them; end to end, the errors of a connection a user can get
 * wrong (nothing listening, a name that does not resolve) are sentences
 * too. No route to host is in `connect_test.ts`, which needs namespaces.
 */

import assert from "node:assert/strict";
import fs from "node:fs";
import { join } from "node:path";
import { explain } from "../lib/cli/explain.ts";
import { osErrorCode, osReason } from "../lib/common/os_errors.ts";
import { ROOT, runClient, runProgram, tempDir, TEST_CODE } from "./helpers.ts";

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error("Nothing was thrown");
}

Deno.test("errors of both APIs are known by their errno name", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "f");
  await Deno.writeTextFile(file, "");
  for (
    const [error, code] of [
      [thrown(() => Deno.mkdirSync(file)), "EEXIST"],
      [thrown(() => fs.mkdirSync(file)), "EEXIST"],
      [thrown(() => Deno.mkdirSync(join(file, "x"))), "ENOTDIR"],
      [thrown(() => fs.mkdirSync(join(file, "x"))), "ENOTDIR"],
      [thrown(() => Deno.readFileSync(join(dir.path, "none"))), "ENOENT"],
      [new Error("No route to host (os error 113)"), "EHOSTUNREACH"],
    ] as const
  ) {
    assert.equal(osErrorCode(error), code, String(error));
  }
  assert.equal(osErrorCode(new Error("plain words")), undefined);
  assert.equal(osReason(new Error("plain words")), undefined);
});

Deno.test("a raw error becomes what could not be done, why, and the way out", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "report.txt");
  await Deno.writeTextFile(file, "");
  const exists = thrown(() => Deno.mkdirSync(file));
  assert.match(String(exists), /File exists \(os error 17\)/);
  assert.equal(
    explain(exists),
    `Cannot create the folder "${file}": something else already has that name; choose another name, or move what is there away`,
  );
  assert.equal(
    explain(thrown(() => fs.mkdirSync(join(file, "sub")))),
    `Cannot create the folder "${file}/sub": a file is where a folder should be; check the path`,
  );
  assert.equal(
    explain(thrown(() => Deno.readTextFileSync(join(dir.path, "none")))),
    `Cannot read "${dir.path}/none": no such file or folder; check the path`,
  );
  // What names a descriptor means nothing to a user: left out.
  const folder = fs.openSync(dir.path, "r");
  try {
    assert.equal(
      explain(
        thrown(() => fs.mkdirSync(`/proc/self/fd/${folder}/report.txt`)),
      ),
      "Cannot create the folder: something else already has that name; choose another name, or move what is there away",
    );
  } finally {
    fs.closeSync(folder);
  }
  const full = thrown(() => Deno.writeFileSync("/dev/full", new Uint8Array(1)));
  assert.match(String(full), /No space left on device \(os error 28\)/);
  assert.equal(
    explain(full),
    'Cannot write "/dev/full": no space left on the disk; free some space, or choose another disk',
  );
  // Messages of the tool's own stay as they are, even quoting an OS error.
  assert.equal(explain(new Error("Wrong code")), "Wrong code");
  assert.equal(
    explain(new Error("Cannot connect to x: Permission denied (os error 13)")),
    "Cannot connect to x: Permission denied (os error 13)",
  );
});

Deno.test("nothing listening, and a name that does not resolve, are sentences", async () => {
  const refused = await runClient(["127.0.0.1:9", "main.txt"]);
  assert.equal(refused.code, 1);
  assert.equal(
    refused.stderr,
    "client: Connection refused by 127.0.0.1:9: is server.ts running there?\n",
  );
  const unknown = await runClient(["no-such-host.invalid:9", "main.txt"]);
  assert.equal(unknown.code, 1);
  assert.equal(
    unknown.stderr,
    "client: Cannot find host no-such-host.invalid: check the name\n",
  );
});

/** How to run a program without the right to ports below 1024, or why not. */
async function withoutLowPorts(): Promise<string[] | string> {
  const start = await Deno.readTextFile(
    "/proc/sys/net/ipv4/ip_unprivileged_port_start",
  ).catch(() => null);
  if (start === null) return "not Linux";
  if (Number(start) <= 80) {
    return `anyone may listen on port ${start.trim()} here`;
  }
  if (Deno.uid() !== 0) return [];
  const drop = ["setpriv", "--bounding-set=-net_bind_service"];
  const probe = await new Deno.Command(drop[0], {
    args: [...drop.slice(1), "true"],
  })
    .output().catch(() => null);
  return probe?.success
    ? drop
    : "setpriv cannot drop CAP_NET_BIND_SERVICE here";
}

const lowPorts = await withoutLowPorts();
if (typeof lowPorts === "string") {
  console.log(`explain_test: the low port case is skipped: ${lowPorts}`);
}

Deno.test({
  name: "a port below 1024 without the right to it says which ports to choose",
  ignore: typeof lowPorts === "string",
  async fn() {
    const prefix = lowPorts as string[];
    const command = [...prefix, Deno.execPath()];
    await using dest = await tempDir();
    const result = await runProgram(command[0], [
      ...command.slice(1),
      "run",
      "-A",
      `${ROOT}server.ts`,
      "--host",
      "127.0.0.1",
      "--port",
      "80",
      "--dir",
      dest.path,
    ], { env: { FT_CODE: TEST_CODE } });
    assert.equal(result.code, 1, result.stderr);
    assert.equal(
      result.stderr,
      "server: Cannot listen on port 80: ports below 1024 need administrator rights here; choose a --port from 1024 up (the default is 65432)\n",
    );
  },
});
