/**
 * What inside a folder cannot be sent (a name the protocol cannot carry, a
 * folder the client cannot read) is left out of the transfer, named in a
 * warning and in the summary, and fails the run, while the rest arrives.
 * The unreadable folder runs the client as root without CAP_DAC_OVERRIDE
 * (setpriv), so that another user's private folder is closed to it;
 * skipped, with the reason printed, where that cannot be done.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  listTree,
  runClient,
  runProgram,
  startServer,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";
import { NOBODY, noOverrideUnavailable, withoutOverride } from "./attacker.ts";

const noSetpriv = await noOverrideUnavailable();
if (noSetpriv !== null) {
  console.log(`unsent_test: the unreadable folder case skipped: ${noSetpriv}`);
}

Deno.test("names that cannot be sent are left out, counted, and the client exits 1", async () => {
  await using source = await tempDir();
  const top = join(source.path, "tree");
  await Deno.mkdir(join(top, "sub"), { recursive: true });
  await Deno.writeTextFile(join(top, "back\\slash"), "b");
  await Deno.writeTextFile(join(top, "tab\there"), "t");
  await Deno.writeTextFile(join(top, "sub/ok.txt"), "ok");
  await using dest = await tempDir();
  await using server = await startServer(["--dir", dest.path]);
  const text = await runClient([`127.0.0.1:${server.port}`, top]);
  assert.equal(text.code, 1, text.stdout + text.stderr);
  assert.match(text.stderr, /Cannot send .*tree\/back\\slash: .*backslash/);
  assert.match(
    text.stdout,
    /^1 of 1 files sent and verified, 0 already there, 0 failed, 2 not sent$/m,
  );
  assert.match(
    text.stdout,
    /^Not sent \(see the warnings\): tree\/back\\slash, tree\/tab\\u0009here$/m,
  );
  assert.doesNotMatch(text.stdout, /all verified/);
  assert.deepEqual(await listTree(dest.path), [
    "tree/",
    "tree/sub/",
    "tree/sub/ok.txt",
  ]);
  const json = await runClient([`127.0.0.1:${server.port}`, "--json", top]);
  assert.equal(json.code, 1, json.stderr);
  const done = json.stdout.trim().split("\n").map((line) => JSON.parse(line))
    .find((event) => event.type === "done");
  assert.equal(done.ok, false, json.stdout);
  assert.equal(done.unsent, 2, json.stdout);
  assert.equal(done.failed, 0, json.stdout);
});

Deno.test({
  name: "a folder the client cannot read is left out, and the rest is sent",
  ignore: noSetpriv !== null,
  async fn() {
    await using source = await tempDir();
    const top = join(source.path, "tree");
    await Deno.mkdir(join(top, "locked"), { recursive: true });
    await Deno.writeTextFile(join(top, "locked/in.txt"), "secret");
    await Deno.writeTextFile(join(top, "ok.txt"), "ok");
    await Deno.chown(join(top, "locked"), NOBODY, NOBODY);
    await Deno.chmod(join(top, "locked"), 0o700);
    await using dest = await tempDir();
    await using server = await startServer(["--dir", dest.path]);
    const result = await runProgram(
      "setpriv",
      withoutOverride("client", [`127.0.0.1:${server.port}`, top]),
      { env: { FT_CODE: TEST_CODE } },
    );
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(
      result.stderr,
      /Cannot send .*tree\/locked: permission denied/,
    );
    assert.match(
      result.stdout,
      /1 of 1 files sent and verified.*, 1 not sent$/m,
    );
    assert.match(
      result.stdout,
      /^Not sent \(see the warnings\): tree\/locked$/m,
    );
    // No empty folder stands for what it holds.
    assert.deepEqual(await listTree(dest.path), ["tree/", "tree/ok.txt"]);
  },
});
