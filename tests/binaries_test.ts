/**
 * The executables `deno task compile` builds, run end to end. `deno
 * compile` needs its base runtime, denort, from `DENORT_BIN` or from
 * dl.deno.land (then cached): when it cannot get it, the test is ignored
 * and says why.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  compile,
  outputName,
  PROGRAMS,
  RuntimeUnavailableError,
} from "../scripts/compile.ts";
import {
  ROOT,
  runProgram,
  ServerProcess,
  tempDir,
  TEST_CODE,
} from "./helpers.ts";

/** How long the probe may take to get denort before the test is ignored. */
const PROBE_TIMEOUT_MS = 30_000;

/**
 * Why `deno compile` cannot build anything here, found by compiling a
 * one-line program; null when it can. Failures other than a missing
 * runtime are left for the test to report.
 */
async function compileProblem(): Promise<string | null> {
  await using dir = await tempDir();
  const entry = join(dir.path, "probe.ts");
  await Deno.writeTextFile(entry, "export {};\n");
  const signal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
  try {
    await compile({
      entry,
      output: join(dir.path, outputName("probe")),
      permissions: [],
      signal,
    });
    return null;
  } catch (error) {
    if (error instanceof RuntimeUnavailableError) return error.message;
    if (signal.aborted) {
      return `deno compile did not get its base runtime (denort) within ${
        PROBE_TIMEOUT_MS / 1000
      } s`;
    }
    return null;
  }
}

const problem = await compileProblem();
if (problem !== null) console.log(`binaries_test.ts ignored: ${problem}`);

Deno.test({
  name: "ft-server and ft-client, compiled, carry main.txt end to end",
  ignore: problem !== null,
  async fn() {
    await using dir = await tempDir();
    const built = new Map<string, string>();
    for (const program of PROGRAMS) {
      const output = join(dir.path, outputName(program.name));
      await compile({
        entry: program.entry,
        output,
        permissions: program.permissions,
      });
      built.set(program.name, output);
    }
    const folder = join(dir.path, "received");
    const child = new Deno.Command(built.get("ft-server")!, {
      args: ["--host", "0.0.0.0", "--port", "0", "--dir", folder, "--once"],
      cwd: ROOT,
      env: { FT_CODE: TEST_CODE },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    await using server = new ServerProcess(child);
    const port = await server.listening();
    // The hint names the compiled client, not deno and client.ts.
    await server.waitFor(/send files with:\n {2}ft-client /);
    const client = await runProgram(
      built.get("ft-client")!,
      [`127.0.0.1:${port}`, "main.txt"],
      { env: { FT_CODE: TEST_CODE } },
    );
    assert.equal(client.code, 0, `client failed:\n${client.stderr}`);
    const help = await runProgram(built.get("ft-client")!, ["--help"]);
    assert.match(help.stdout, /^Usage: ft-client \[options\]/m);
    const finished = await server.exited();
    assert.equal(finished.code, 0, `server failed:\n${finished.stderr}`);
    assert.deepEqual(
      await Deno.readFile(join(folder, "main.txt")),
      await Deno.readFile(join(ROOT, "main.txt")),
    );
  },
});
