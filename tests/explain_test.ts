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
import { runClient, tempDir } from "./helpers.ts";

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
  assert.equal(
    explain(
      new Error(
        "EROFS: read-only file system, mkdir '/proc/self/fd/21/.ft-staging'",
      ),
    ),
    "Cannot create the folder: the file system is read-only; choose a place on a writable disk",
  );
  assert.equal(
    explain(new Error("No space left on device (os error 28)")),
    "No space left on the disk; free some space, or choose another disk",
  );
  // Messages of the tool's own stay as they are.
  assert.equal(explain(new Error("Wrong code")), "Wrong code");
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
