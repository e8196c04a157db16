/**
 * The rule that tells the client's server address from what it sends: a
 * first argument that is a file or folder here, or `-`, means everything
 * is to send; anything else is the address, said plainly when it cannot
 * be one.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { readTargets } from "../lib/cli/targets.ts";
import { UsageError } from "../lib/common/errors.ts";
import { tempDir } from "./helpers.ts";

Deno.test("a first argument that is here means every argument is sent, and the server is looked for", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "report.txt");
  await Deno.writeTextFile(file, "x");
  assert.deepEqual(readTargets([file, "main.txt"], false), {
    paths: [file, "main.txt"],
  });
  assert.deepEqual(readTargets(["-"], false), { paths: ["-"] });
});

Deno.test("anything else first is the address, and no argument at all is the demo", () => {
  assert.deepEqual(readTargets(["192.168.1.20:7000", "main.txt"], false), {
    server: { host: "192.168.1.20", port: 7000 },
    paths: ["main.txt"],
    notAPathEither: "192.168.1.20:7000",
  });
  assert.deepEqual(readTargets([], false), {
    server: { host: "localhost", port: 65432 },
    paths: ["main.txt"],
  });
  assert.deepEqual(readTargets([], true), { paths: [] });
  assert.deepEqual(readTargets(["[::1]:9"], true), {
    server: { host: "::1", port: 9 },
    paths: [],
  });
});

Deno.test("what cannot be an address is said as such", () => {
  const says = (args: string[], get: boolean, text: string) =>
    assert.throws(
      () => readTargets(args, get),
      (error: unknown) => error instanceof UsageError && error.message === text,
    );
  says(
    ["report.txt"],
    false,
    "report.txt is not a file or folder here; to send to a server at report.txt, name what to send too: deno run -A client.ts report.txt FILE...",
  );
  says(
    ["./photos/beach.jpg", "main.txt"],
    false,
    "./photos/beach.jpg is not a file or folder here, and a server's address has no slashes: check the path",
  );
  says(
    ["http://192.168.1.5", "main.txt"],
    false,
    "http://192.168.1.5 is a URL; give the server's address as HOST or HOST:PORT, as in deno run -A client.ts 192.168.1.5 FILE...",
  );
  says(
    ["https://h.example:7000/x"],
    true,
    "https://h.example:7000/x is a URL; give the server's address as HOST or HOST:PORT, as in deno run -A client.ts --get h.example:7000",
  );
  says(
    ["a", "b"],
    true,
    "--get takes at most the server's address (HOST[:PORT]); the files go to --dir",
  );
});
