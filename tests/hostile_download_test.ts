/**
 * A hostile sharing server against a real `client.ts --get`: the client
 * that gets files is as careful as the server that receives them. For
 * each case: one clear line and exit status 1 on the client, nothing
 * written outside `--dir`, no wrong bytes under a final name, and nothing
 * but the client's own staging data left behind.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileEntry, folderEntry } from "./hostile_client.ts";
import { payload } from "./hostile_sharer.ts";
import { assertRefused, getFrom } from "./hostile_download_harness.ts";
import { tempDir } from "./helpers.ts";

Deno.test("hostile sharer: paths that leave the folder end the session", async () => {
  for (const path of ["../outside/evil.txt", "/etc/evil", "a/../../evil"]) {
    const result = await getFrom(async (s) => {
      await s.manifest([fileEntry(path, 4)]);
      await s.readToEnd();
    });
    assertRefused(result, /^client: Server error|^client: Invalid path/);
    assert.deepEqual(result.added, [], path);
  }
});

Deno.test("hostile sharer: more bytes than announced, or a wrong hash, never get a name", async () => {
  const good = await payload("abcd");
  const more = await getFrom(async (s) => {
    await s.manifest([fileEntry("more.bin", 4)]);
    await s.receive();
    await s.send({ type: "file", index: 0, offset: 0 });
    await s.data(new TextEncoder().encode("abcdefgh"));
    await s.readToEnd();
  });
  assertRefused(more, /Server sent more bytes than announced for "more\.bin"/);
  assert.deepEqual(more.added, []);
  const wrong = await getFrom(async (s) => {
    await s.manifest([fileEntry("wrong.bin", 4)]);
    await s.receive();
    await s.send({ type: "file", index: 0, offset: 0 });
    await s.data(good.bytes);
    await s.send({ type: "end", index: 0, sha256: "0".repeat(64) });
    await s.readToEnd();
  });
  assertRefused(wrong, /Hash mismatch for "wrong\.bin"/);
  assert.deepEqual(wrong.added, []);
});

Deno.test("hostile sharer: a link in the client's folder is never written through", async () => {
  await using elsewhere = await tempDir();
  const secret = join(elsewhere.path, "secret.txt");
  await Deno.writeTextFile(secret, "keep me\n");
  const data = await payload("evil");
  const result = await getFrom(async (s) => {
    await s.manifest([fileEntry("link/secret.txt", 4), fileEntry("ok.txt", 4)]);
    const decisions = await s.receive();
    assert.equal(decisions?.type, "decisions");
    if (decisions?.type === "decisions") {
      assert.equal(decisions.items[0].action, "refuse");
    }
    await s.send({ type: "file", index: 1, offset: 0 });
    await s.data(data.bytes);
    await s.send({ type: "end", index: 1, sha256: data.sha256 });
    await s.send({ type: "done" });
    await s.readToEnd();
  }, async (dir) => {
    await Deno.symlink(elsewhere.path, join(dir, "link"));
  });
  assert.equal(result.client.code, 1);
  assert.match(result.client.stderr, /failed {2}link\/secret\.txt: refused: /);
  assert.deepEqual(result.added, ["ok.txt"]);
  assert.equal(await Deno.readTextFile(secret), "keep me\n");
});

Deno.test("hostile sharer: paths too deep, and manifests that contradict themselves", async () => {
  const deep = await getFrom(async (s) => {
    await s.manifest([fileEntry(Array(300).fill("d").join("/"), 1)]);
    await s.readToEnd();
  });
  assertRefused(deep, /has more than 256 components/);
  const below = await getFrom(async (s) => {
    await s.manifest([fileEntry("f", 1), folderEntry("f/g")]);
    await s.readToEnd();
  });
  assertRefused(below, /below a file/);
  assert.deepEqual(below.added, []);
});

Deno.test("hostile sharer: damage to a record ends the session, and nothing is kept under a name", async () => {
  const result = await getFrom(async (s) => {
    await s.manifest([fileEntry("cut.bin", 8)]);
    await s.receive();
    await s.send({ type: "file", index: 0, offset: 0 });
    // Raw bytes where a sealed record belongs.
    await s.raw(new Uint8Array([0, 0, 0, 40, ...new Uint8Array(40)]));
    await s.readToEnd();
  });
  assertRefused(result, /Record failed authentication/);
  assert.deepEqual(result.added, []);
});
