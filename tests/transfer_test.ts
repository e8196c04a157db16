/**
 * Transfers end to end in both directions (see `directions.ts`): a tree
 * with its names, empty entries, modes and times; a large file byte for
 * byte; a rerun that moves nothing twice and never silently replaces a
 * different file; `--overwrite`; IPv6; a server that is not there; and a
 * folder that was already there. What only an upload has is here too;
 * what only a download has is in `download_transfer_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { hashFile } from "../lib/store/hash.ts";
import { freePort } from "./conditions.ts";
import {
  clientArgs,
  clientVerb,
  DIRECTIONS,
  serverArgs,
  startTransfer,
} from "./directions.ts";
import {
  listTree,
  ROOT,
  runClient,
  ServerProcess,
  startServer,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";

/** Writes `size` random bytes to `path` a MiB at a time. */
async function writeRandomFile(
  path: string,
  size: number,
): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true });
  const chunk = new Uint8Array(1024 * 1024);
  for (let done = 0; done < size; done += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, size - done));
    for (let i = 0; i < part.length; i += 65536) {
      crypto.getRandomValues(
        part.subarray(i, Math.min(i + 65536, part.length)),
      );
    }
    let written = 0;
    while (written < part.length) {
      written += await file.write(part.subarray(written));
    }
  }
}

Deno.test("main.txt arrives byte for byte and both sides exit 0", async () => {
  await using dir = await tempDir();
  await using server = await startServer(["--dir", dir.path, "--once"]);
  const client = await runClient([`127.0.0.1:${server.port}`, "main.txt"]);
  assert.equal(client.code, 0, client.stderr);
  assert.match(
    client.stdout,
    /^verified {2}main\.txt {2}\d+ B {2}sha256:[0-9a-f]{8}$/m,
  );
  assert.match(client.stdout, /1 of 1 files sent and verified/);
  const result = await server.exited();
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /received main\.txt/);
  assert.deepEqual(
    await Deno.readFile(join(dir.path, "main.txt")),
    await Deno.readFile(join(ROOT, "main.txt")),
  );
  assert.deepEqual(await listTree(dir.path), ["main.txt"]);
});

for (const direction of DIRECTIONS) {
  Deno.test(`a folder tree keeps names, contents, empty entries, modes and mtimes (${direction})`, async () => {
    await using source = await tempDir();
    await using dest = await tempDir();
    const tree = join(source.path, "tree");
    const files: Record<string, string> = {
      "données/résumé ü.txt": "unicode and a space\n",
      "日本語/ファイル.txt": "こんにちは\n",
      "with space/empty.txt": "",
      "a/b/c/d/e/deep.txt": "five levels down\n",
      "run.sh": "#!/bin/sh\necho hi\n",
    };
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(join(tree, path, ".."), { recursive: true });
      await Deno.writeTextFile(join(tree, path), text);
    }
    await Deno.mkdir(join(tree, "empty folder"));
    await Deno.chmod(join(tree, "run.sh"), 0o755);
    await Deno.chmod(join(tree, "données/résumé ü.txt"), 0o600);
    const past = new Date("2020-02-03T04:05:06.789Z");
    await Deno.utime(join(tree, "a/b/c/d/e/deep.txt"), past, past);
    await Deno.utime(join(tree, "empty folder"), past, past);
    await Deno.symlink("/etc/passwd", join(tree, "link-to-passwd"));

    await using transfer = await startTransfer(direction, {
      sources: [tree],
      dest: dest.path,
    });
    const client = await transfer.run();
    assert.equal(client.code, 0, client.stderr);
    await transfer.senderSaid(
      client,
      /Skipping .*link-to-passwd: a symbolic link, not followed/,
    );
    assert.equal((await transfer.server.exited()).code, 0);

    assert.deepEqual(await listTree(dest.path), [
      "tree/",
      "tree/a/",
      "tree/a/b/",
      "tree/a/b/c/",
      "tree/a/b/c/d/",
      "tree/a/b/c/d/e/",
      "tree/a/b/c/d/e/deep.txt",
      "tree/données/",
      "tree/données/résumé ü.txt",
      "tree/empty folder/",
      "tree/run.sh",
      "tree/with space/",
      "tree/with space/empty.txt",
      "tree/日本語/",
      "tree/日本語/ファイル.txt",
    ]);
    for (const [path, text] of Object.entries(files)) {
      assert.equal(
        await Deno.readTextFile(join(dest.path, "tree", path)),
        text,
      );
    }
    const stat = (path: string) => Deno.stat(join(dest.path, "tree", path));
    assert.equal((await stat("run.sh")).mode! & 0o777, 0o755);
    assert.equal((await stat("données/résumé ü.txt")).mode! & 0o777, 0o600);
    for (const path of ["a/b/c/d/e/deep.txt", "empty folder"]) {
      assert.equal((await stat(path)).mtime!.getTime(), past.getTime(), path);
    }
  });

  Deno.test(`a 256 MiB random file arrives byte-identical (${direction})`, async () => {
    await using source = await tempDir();
    await using dest = await tempDir();
    const big = join(source.path, "big.bin");
    await writeRandomFile(big, 256 * 1024 * 1024);
    await using transfer = await startTransfer(direction, {
      sources: [big],
      dest: dest.path,
    });
    const client = await transfer.run();
    assert.equal(client.code, 0, client.stderr);
    assert.equal((await transfer.server.exited()).code, 0);
    assert.equal(
      (await Deno.stat(join(dest.path, "big.bin"))).size,
      256 * 1024 * 1024,
    );
    assert.equal(
      await hashFile(join(dest.path, "big.bin")),
      await hashFile(big),
    );
  });

  Deno.test(`a rerun moves nothing twice, and a different file is never silently replaced (${direction})`, async () => {
    await using source = await tempDir();
    await using dest = await tempDir();
    const tree = join(source.path, "docs");
    await Deno.mkdir(tree);
    await Deno.writeTextFile(join(tree, "a.txt"), "first\n");
    await Deno.writeTextFile(join(tree, "b.txt"), "second\n");
    await using transfer = await startTransfer(direction, {
      sources: [tree],
      dest: dest.path,
      keep: true,
    });
    const verb = clientVerb(direction);

    const first = await transfer.run();
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.stdout,
      new RegExp(`2 of 2 files ${verb} and verified, 0 already there`),
    );

    const second = await transfer.run();
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /already there {2}docs\/a\.txt/);
    assert.match(
      second.stdout,
      new RegExp(
        `0 of 2 files ${verb} and verified, 2 already there, 0 failed\n0 B in`,
      ),
    );

    // Same size, other content where the files go: refused, left as it was.
    await Deno.writeTextFile(join(dest.path, "docs/a.txt"), "FIRST\n");
    const third = await transfer.run();
    assert.equal(third.code, 1);
    assert.match(third.stderr, /^failed {2}docs\/a\.txt: .*--overwrite/m);
    assert.equal(
      await Deno.readTextFile(join(dest.path, "docs/a.txt")),
      "FIRST\n",
    );

    // Other size: refused the same way, which tells nothing of the size.
    await Deno.writeTextFile(join(dest.path, "docs/b.txt"), "second, mine\n");
    const fourth = await transfer.run();
    assert.equal(fourth.code, 1);
    assert.match(fourth.stderr, /^failed {2}docs\/b\.txt: .*--overwrite/m);
    assert.equal(
      await Deno.readTextFile(join(dest.path, "docs/b.txt")),
      "second, mine\n",
    );
    assert.deepEqual(await listTree(dest.path), [
      "docs/",
      "docs/a.txt",
      "docs/b.txt",
    ]);
  });

  Deno.test(`a different file is replaced only with --overwrite (${direction})`, async () => {
    await using source = await tempDir();
    await using dest = await tempDir();
    const names = ["kept.txt", "note.txt", "same.txt"];
    await Deno.writeTextFile(join(dest.path, "kept.txt"), "kept\n");
    await Deno.writeTextFile(join(dest.path, "note.txt"), "old\n");
    await Deno.writeTextFile(join(dest.path, "same.txt"), "abc\n");
    await Deno.writeTextFile(join(source.path, "kept.txt"), "kept\n");
    await Deno.writeTextFile(join(source.path, "note.txt"), "new content\n");
    await Deno.writeTextFile(join(source.path, "same.txt"), "xyz\n");
    const setup = {
      sources: names.map((name) => join(source.path, name)),
      dest: dest.path,
    };
    {
      await using transfer = await startTransfer(direction, setup);
      const first = await transfer.run();
      assert.equal(first.code, 1, first.stdout + first.stderr);
      assert.match(first.stdout, /already there {2}kept\.txt/);
      assert.match(first.stderr, /^failed {2}note\.txt: /m);
      assert.match(first.stderr, /^failed {2}same\.txt: /m);
      assert.equal(
        await Deno.readTextFile(join(dest.path, "note.txt")),
        "old\n",
      );
      assert.equal(
        await Deno.readTextFile(join(dest.path, "same.txt")),
        "abc\n",
      );
    }
    await using transfer = await startTransfer(direction, {
      ...setup,
      receiver: ["--overwrite"],
    });
    const second = await transfer.run();
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.equal(
      await Deno.readTextFile(join(dest.path, "note.txt")),
      "new content\n",
    );
    assert.equal(await Deno.readTextFile(join(dest.path, "same.txt")), "xyz\n");
    assert.deepEqual(await listTree(dest.path), names);
  });

  Deno.test(`IPv6 loopback as [::1]:PORT (${direction})`, async (t) => {
    try {
      Deno.listen({ hostname: "::1", port: 0 }).close();
    } catch {
      console.log("skipped: this machine has no IPv6 loopback");
      return;
    }
    await using dest = await tempDir();
    const setup = { sources: [join(ROOT, "main.txt")], dest: dest.path };
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(ROOT, "server.ts"),
        "--host",
        "::1",
        "--port",
        "0",
        ...serverArgs(direction, setup),
      ],
      stdout: "piped",
      stderr: "piped",
      env: { FT_CODE: TEST_CODE },
    }).spawn();
    await using server = new ServerProcess(child);
    const match = await server.waitFor(/Listening on \[::1\]:(\d+)/);
    await t.step(direction, async () => {
      const client = await runClient(
        clientArgs(direction, setup, `[::1]:${match[1]}`),
      );
      assert.equal(client.code, 0, client.stderr);
    });
    assert.equal((await server.exited()).code, 0);
    assert.deepEqual(
      await Deno.readFile(join(dest.path, "main.txt")),
      await Deno.readFile(join(ROOT, "main.txt")),
    );
  });

  Deno.test(`the client reports a server that is not running (${direction})`, async () => {
    await using dest = await tempDir();
    const port = freePort();
    const client = await runClient(
      clientArgs(
        direction,
        { sources: ["main.txt"], dest: dest.path },
        `127.0.0.1:${port}`,
      ),
    );
    assert.equal(client.code, 1);
    assert.equal(
      client.stderr.trim(),
      `client: Connection refused by 127.0.0.1:${port}: is server.ts running there?`,
    );
    assert.deepEqual(await listTree(dest.path), []);
  });

  Deno.test(`a folder that was already there keeps its mode (${direction})`, async () => {
    await using source = await tempDir();
    await using dest = await tempDir();
    await Deno.mkdir(join(source.path, "shared"));
    await Deno.writeTextFile(join(source.path, "shared/new.txt"), "new\n");
    await Deno.chmod(join(source.path, "shared"), 0o777);
    await Deno.mkdir(join(dest.path, "shared"));
    await Deno.chmod(join(dest.path, "shared"), 0o700);
    await using transfer = await startTransfer(direction, {
      sources: [join(source.path, "shared")],
      dest: dest.path,
    });
    const client = await transfer.run();
    assert.equal(client.code, 0, client.stderr);
    assert.equal((await transfer.server.exited()).code, 0);
    const info = await Deno.stat(join(dest.path, "shared"));
    assert.equal(info.mode! & 0o777, 0o700);
    assert.equal(
      await Deno.readTextFile(join(dest.path, "shared/new.txt")),
      "new\n",
    );
  });
}

Deno.test("20 clients at once all get their files verified", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  const count = 20;
  for (let i = 0; i < count; i++) {
    await writeRandomFile(
      join(source.path, `client-${i}.bin`),
      1024 * 1024 + i,
    );
  }
  await using server = await startServer(["--dir", dest.path]);
  const results = await Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        runClient([
          `127.0.0.1:${server.port}`,
          join(source.path, `client-${i}.bin`),
        ]),
    ),
  );
  for (const result of results) assert.equal(result.code, 0, result.stderr);
  for (let i = 0; i < count; i++) {
    assert.equal(
      await hashFile(join(dest.path, `client-${i}.bin`)),
      await hashFile(join(source.path, `client-${i}.bin`)),
    );
  }
  assert.equal(
    server.stdout.match(
      /\] done: 1 of 1 files received and verified, 0 already there, 0 failed;/g,
    )
      ?.length,
    count,
  );
});

Deno.test("--once exits non-zero when a file of the session was refused", async () => {
  await using source = await tempDir();
  await using dest = await tempDir();
  await Deno.writeTextFile(join(dest.path, "x.txt"), "server's\n");
  await Deno.writeTextFile(join(source.path, "x.txt"), "client's version\n");
  await using server = await startServer(["--dir", dest.path, "--once"]);
  const client = await runClient([
    `127.0.0.1:${server.port}`,
    join(source.path, "x.txt"),
  ]);
  assert.equal(client.code, 1);
  const result = await server.exited();
  assert.equal(result.code, 1);
  assert.match(
    result.stdout,
    /done: 0 of 1 files received and verified, 0 already there, 1 failed/,
  );
});
