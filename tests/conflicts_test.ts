/**
 * A file whose name the other side has with other bytes: by default it
 * fails on both sides, each told what it can do; with `--skip-existing`
 * it is left there and counted as skipped by both sides (exit 0); with
 * `--rename` it is saved beside the other as "name (1).ext", and a rerun
 * finds it there. In both directions, with real server and client
 * processes on loopback; the new wire members are checked by the
 * decoders.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  decodeReceiverMessage,
  decodeSenderMessage,
  ProtocolError,
} from "../protocol.ts";
import { numberedPath } from "../lib/store/destination_decisions.ts";
import { startFake } from "./fake_server_process.ts";
import {
  listTree,
  runClient,
  type ServerProcess,
  sleep,
  startServer,
  tempDir,
} from "./helpers.ts";

/** The JSON events of `text`, one per line that holds one. */
function events(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
}

/** The `done` event of a server session, once it came. */
async function sessionDone(
  server: ServerProcess,
  count = 1,
): Promise<Record<string, unknown>> {
  await server.waitFor(new RegExp(`("type":"done".*){${count}}`, "s"));
  return events(server.stdout).filter((event) => event.type === "done")
    .at(count - 1)!;
}

/** A source folder with `a.txt` and `b.tar.gz`, and a destination with different ones. */
async function conflicting(source: string, dest: string): Promise<void> {
  await Deno.writeTextFile(join(source, "a.txt"), "mine\n");
  await Deno.writeTextFile(join(source, "b.tar.gz"), "my archive\n");
  await Deno.writeTextFile(join(dest, "a.txt"), "theirs\n");
  await Deno.writeTextFile(join(dest, "b.tar.gz"), "their archive\n");
}

Deno.test("numbered names keep the extension, .tar.gz whole, and leave dot files alone", () => {
  assert.equal(numberedPath("photos/dup.jpg", 1), "photos/dup (1).jpg");
  assert.equal(numberedPath("backup.tar.gz", 2), "backup (2).tar.gz");
  assert.equal(numberedPath("notes", 1), "notes (1)");
  assert.equal(numberedPath("a/.profile", 1), "a/.profile (1)");
  assert.equal(
    numberedPath("report.v2.final.pdf", 3),
    "report.v2.final (3).pdf",
  );
  assert.equal(numberedPath("a (1).txt", 1), "a (1) (1).txt");
});

Deno.test("the decoders check ifDifferent and savedAs, and take messages without them", () => {
  const bytes = (value: unknown) =>
    new TextEncoder().encode(JSON.stringify(value));
  const manifest = { type: "manifest", entries: [], more: false };
  assert.deepEqual(decodeSenderMessage(bytes(manifest)), manifest);
  assert.deepEqual(
    decodeSenderMessage(bytes({ ...manifest, ifDifferent: "rename" })),
    { ...manifest, ifDifferent: "rename" },
  );
  assert.throws(
    () => decodeSenderMessage(bytes({ ...manifest, ifDifferent: "replace" })),
    new ProtocolError("Unknown ifDifferent in manifest message"),
  );
  const decisions = (item: unknown) =>
    bytes({ type: "decisions", start: 0, items: [item], more: false });
  assert.deepEqual(
    decodeReceiverMessage(
      decisions({ action: "compare", replace: false, ifDifferent: "skip" }),
    ),
    {
      type: "decisions",
      start: 0,
      items: [{ action: "compare", replace: false, ifDifferent: "skip" }],
      more: false,
    },
  );
  assert.throws(
    () =>
      decodeReceiverMessage(
        decisions({ action: "compare", replace: false, ifDifferent: 1 }),
      ),
    new ProtocolError("Unknown ifDifferent in decision 0"),
  );
  const sha256 = "0".repeat(64);
  assert.deepEqual(
    decodeReceiverMessage(
      bytes({ type: "verified", index: 0, sha256, savedAs: "a (1).txt" }),
    ),
    { type: "verified", index: 0, sha256, savedAs: "a (1).txt" },
  );
  assert.throws(
    () =>
      decodeReceiverMessage(
        bytes({ type: "verified", index: 0, sha256, savedAs: "../a" }),
      ),
    /^ProtocolError: Invalid path "\.\.\/a"/,
  );
  assert.throws(
    () =>
      decodeReceiverMessage(
        bytes({
          type: "matches",
          items: [{ index: 0, match: true, savedAs: 7 }],
          more: false,
        }),
      ),
    new ProtocolError("Field savedAs in match 0 is not a string"),
  );
});

Deno.test("a different file on the server fails on both sides, each told what it can do, and both count alike", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  await conflicting(source.path, dest.path);
  await Deno.writeTextFile(join(source.path, "same.txt"), "same\n");
  await Deno.writeTextFile(join(dest.path, "same.txt"), "same\n");
  await Deno.writeTextFile(join(source.path, "new.txt"), "new\n");
  await using server = await startServer(["--dir", dest.path]);
  const client = await runClient([
    `127.0.0.1:${server.port}`,
    ...["a.txt", "same.txt", "new.txt"].map((name) => join(source.path, name)),
  ]);
  assert.equal(client.code, 1, client.stderr);
  assert.match(
    client.stderr,
    /^failed {2}a\.txt: a different file with this name is on the server, which keeps it \(--rename sends yours under another name, --skip-existing leaves it; the server replaces it only with --overwrite\)$/m,
  );
  assert.match(
    client.stdout,
    /^1 of 3 files sent and verified, 1 already there, 1 failed$/m,
  );
  await server.waitFor(
    /done: 1 of 3 files received and verified, 1 already there, 1 failed/,
  );
  assert.match(
    server.stderr,
    /failed a\.txt: a different file with this name is already here, and stays \(start the server with --overwrite to replace such files\)/,
  );
  assert.equal(await Deno.readTextFile(join(dest.path, "a.txt")), "theirs\n");
});

Deno.test("--skip-existing leaves a different file on the server, skipped on both sides, exit 0", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  await conflicting(source.path, dest.path);
  await Deno.writeTextFile(join(source.path, "new.txt"), "new\n");
  // With --overwrite, the server still keeps what the client asks to keep.
  await using server = await startServer([
    "--json",
    "--dir",
    dest.path,
    "--overwrite",
  ]);
  const client = await runClient([
    "--skip-existing",
    `127.0.0.1:${server.port}`,
    join(source.path, "a.txt"),
    join(source.path, "new.txt"),
  ]);
  assert.equal(client.code, 0, client.stderr);
  assert.match(
    client.stdout,
    /^skipped {2}a\.txt: a different file with this name is on the server$/m,
  );
  assert.match(
    client.stdout,
    /^1 of 2 files sent and verified, 0 already there, 1 skipped, 0 failed$/m,
  );
  assert.match(
    client.stdout,
    /^Skipped, a different file has the name on the server: a\.txt$/m,
  );
  assert.doesNotMatch(client.stderr, /failed/);
  const done = await sessionDone(server);
  assert.deepEqual(
    [done.verified, done.skipped, done.different, done.failed, done.ok],
    [1, 0, 1, 0, true],
  );
  assert.equal(await Deno.readTextFile(join(dest.path, "a.txt")), "theirs\n");
  assert.deepEqual(await listTree(dest.path), ["a.txt", "b.tar.gz", "new.txt"]);
});

Deno.test("--rename saves beside a different file on the server, and a rerun finds it there", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  await conflicting(source.path, dest.path);
  // The next entry takes the first new name: the renamed file passes it.
  await Deno.writeTextFile(join(source.path, "a (1).txt"), "another\n");
  await using server = await startServer([
    "--json",
    "--dir",
    dest.path,
    "--overwrite",
  ]);
  const paths = ["a.txt", "a (1).txt", "b.tar.gz"].map((name) =>
    join(source.path, name)
  );
  const first = await runClient([
    "--rename",
    `127.0.0.1:${server.port}`,
    ...paths,
  ]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(
    first.stdout,
    /^sent as {2}a \(2\)\.txt {2}\(the server has a different a\.txt\)$/m,
  );
  assert.match(
    first.stdout,
    /^sent as {2}b \(1\)\.tar\.gz {2}\(the server has a different b\.tar\.gz\)$/m,
  );
  assert.match(
    first.stdout,
    /^3 of 3 files sent and verified, 0 already there, 0 failed$/m,
  );
  assert.deepEqual(await listTree(dest.path), [
    "a (1).txt",
    "a (2).txt",
    "a.txt",
    "b (1).tar.gz",
    "b.tar.gz",
  ]);
  assert.equal(await Deno.readTextFile(join(dest.path, "a.txt")), "theirs\n");
  assert.equal(await Deno.readTextFile(join(dest.path, "a (2).txt")), "mine\n");
  assert.equal(
    await Deno.readTextFile(join(dest.path, "b (1).tar.gz")),
    "my archive\n",
  );
  const done = await sessionDone(server);
  assert.deepEqual([done.verified, done.failed], [3, 0]);
  assert.ok(
    events(server.stdout).some((event) =>
      event.type === "file-verified" && event.path === "a.txt" &&
      event.savedAs === "a (2).txt"
    ),
  );

  const again = await runClient([
    "--rename",
    `127.0.0.1:${server.port}`,
    ...paths,
  ]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(
    again.stdout,
    /^already there {2}a\.txt {2}as a \(2\)\.txt {2}/m,
  );
  assert.match(
    again.stdout,
    /^0 of 3 files sent and verified, 3 already there, 0 failed$/m,
  );
  await Deno.writeTextFile(join(source.path, "a.txt"), "changed\n");
  const changed = await runClient([
    "--rename",
    `127.0.0.1:${server.port}`,
    paths[0],
  ]);
  assert.equal(changed.code, 0, changed.stderr);
  assert.match(changed.stdout, /^sent as {2}a \(3\)\.txt /m);
  assert.equal(
    await Deno.readTextFile(join(dest.path, "a (3).txt")),
    "changed\n",
  );
});

Deno.test("getting files: the client fails, skips or renames a different local file, and the sharing server counts the same", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  await conflicting(source.path, dest.path);
  await using server = await startServer([
    "--json",
    "--share",
    "--keep-sharing",
    join(source.path, "a.txt"),
  ]);
  const get = (...flags: string[]) =>
    runClient([
      "--get",
      ...flags,
      `127.0.0.1:${server.port}`,
      "--dir",
      dest.path,
    ]);
  const plain = await get();
  assert.equal(plain.code, 1);
  assert.match(
    plain.stderr,
    /^failed {2}a\.txt: a different file with this name is already here, and stays \(--overwrite replaces it, --rename saves the new one under another name, --skip-existing leaves it\)$/m,
  );
  const first = await sessionDone(server, 1);
  assert.deepEqual([first.verified, first.failed], [0, 1]);

  const skipped = await get("--skip-existing");
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.match(
    skipped.stdout,
    /^0 of 1 files received and verified, 0 already there, 1 skipped, 0 failed$/m,
  );
  const second = await sessionDone(server, 2);
  assert.deepEqual([second.different, second.failed], [1, 0]);

  const renamed = await get("--rename");
  assert.equal(renamed.code, 0, renamed.stderr);
  assert.match(
    renamed.stdout,
    /^saved as {2}a \(1\)\.txt {2}\(a different a\.txt is here\)$/m,
  );
  assert.equal(await Deno.readTextFile(join(dest.path, "a (1).txt")), "mine\n");
  assert.equal(await Deno.readTextFile(join(dest.path, "a.txt")), "theirs\n");
  const third = await sessionDone(server, 3);
  assert.deepEqual([third.verified, third.failed], [1, 0]);

  const again = await get("--rename");
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^already there {2}a\.txt {2}as a \(1\)\.txt /m);
  assert.deepEqual(await listTree(dest.path), [
    "a (1).txt",
    "a.txt",
    "b.tar.gz",
  ]);

  const both = await get("--rename", "--skip-existing");
  assert.equal(both.code, 2);
  assert.match(
    both.stderr,
    /--rename and --skip-existing do not go together: each says what becomes of a different file of the same name/,
  );
});

Deno.test("a sharing server whose one client skips a different file has done its work", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  await conflicting(source.path, dest.path);
  const server = await startServer(["--share", join(source.path, "a.txt")]);
  const client = await runClient([
    "--get",
    "--skip-existing",
    `127.0.0.1:${server.port}`,
    "--dir",
    dest.path,
  ]);
  assert.equal(client.code, 0, client.stderr);
  const exit = await server.exited();
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(
    exit.stdout + exit.stderr,
    /skipped a\.txt: the client has a different file with this name and keeps it/,
  );
});

Deno.test("a receiver that knows no ifDifferent and would overwrite gets nothing from --rename or --skip-existing", async () => {
  await using source = await tempDir();
  await Deno.writeTextFile(join(source.path, "a.txt"), "mine\n");
  await using fake = await startFake("overwrite");
  const renamed = await runClient([
    "--rename",
    `127.0.0.1:${fake.port}`,
    join(source.path, "a.txt"),
  ]);
  assert.equal(renamed.code, 1, renamed.stderr);
  assert.match(
    renamed.stderr,
    /^failed {2}a\.txt: a different file with this name is on the server, which would replace it \(it runs with --overwrite and cannot save yours under another name\); not sent$/m,
  );
  const skipped = await runClient([
    "--skip-existing",
    `127.0.0.1:${fake.port}`,
    join(source.path, "a.txt"),
  ]);
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.match(skipped.stdout, /, 1 skipped, 0 failed$/m);
  // The file was never announced: the receiver only heard it was skipped.
  // (Its output may still be on its way when the client is done.)
  const said = () => fake.output().match(/^(file|skip) \d+$/gm) ?? [];
  for (let waited = 0; said().length < 2 && waited < 60_000; waited += 20) {
    await sleep(20);
  }
  assert.deepEqual(said(), ["skip 0", "skip 0"]);
});
