/**
 * The harness of the hostile_download_*_test.ts files: a real
 * `client.ts --get` against a hostile sharing server
 * (`hostile_sharer.ts`), into a folder `dir` with a sibling `outside`
 * that nothing may ever reach.
 *
 * For a refused session the tests check that the client exits with
 * status 1 after one clear line on stderr (no control characters in it),
 * that nothing was added to `dir` or `outside`, and, where data arrived,
 * that what the client kept to resume from is in its private staging
 * folder only.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Finished,
  listTree,
  runClient,
  stagedFiles,
  tempDir,
} from "./helpers.ts";
import { HostileSharer, type SharerSession } from "./hostile_sharer.ts";

// deno-lint-ignore no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** What one run of the client came to. */
export interface GetResult {
  /** The client's exit and output. */
  client: Finished;
  /** What `outside` holds: it must stay empty. */
  outside: string[];
  /** What the run added to `dir`, its staging folder aside. */
  added: string[];
  /** What the client's staging folder holds afterwards. */
  staged: string[];
}

/** A folder to get files into, and the folder beside it. */
export class Downloads implements AsyncDisposable {
  /** Where the client puts the files (`--dir`). */
  readonly dir: string;
  /** A sibling of `dir`, which nothing may reach. */
  readonly outside: string;
  #root: { path: string } & AsyncDisposable;

  private constructor(root: { path: string } & AsyncDisposable) {
    this.#root = root;
    this.dir = join(root.path, "dir");
    this.outside = join(root.path, "outside");
  }

  /** Makes `dir` and `outside` in a new temporary folder. */
  static async make(): Promise<Downloads> {
    const downloads = new Downloads(await tempDir());
    await Deno.mkdir(downloads.dir);
    await Deno.mkdir(downloads.outside);
    return downloads;
  }

  /**
   * Runs `client.ts --get` against 127.0.0.1:`port` into `dir`, without
   * retries unless `args` give some.
   */
  async get(port: number, args: string[] = []): Promise<GetResult> {
    const before = await listTree(this.dir);
    const client = await runClient([
      "--get",
      ...(args.includes("--retries") ? [] : ["--retries", "0"]),
      ...args,
      `127.0.0.1:${port}`,
      "--dir",
      this.dir,
    ]);
    return {
      client,
      outside: await listTree(this.outside),
      added: (await listTree(this.dir)).filter((path) =>
        !before.includes(path)
      ),
      staged: await stagedFiles(this.dir),
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#root[Symbol.asyncDispose]();
  }
}

/**
 * Runs `client.ts --get` once against a sharer playing `script`, after
 * `prepare` had its way with the client's folder.
 */
export async function getFrom(
  script: (session: SharerSession) => Promise<void>,
  prepare: (dir: string) => Promise<void> = async () => {},
  args: string[] = [],
): Promise<GetResult> {
  await using downloads = await Downloads.make();
  await prepare(downloads.dir);
  await using sharer = new HostileSharer(script);
  return await downloads.get(sharer.port, args);
}

/**
 * What every refused session must show: status 1, one line on stderr that
 * matches `phrase`, nothing added anywhere.
 */
export function assertRefused(result: GetResult, phrase: RegExp): void {
  const { client } = result;
  assert.equal(client.code, 1, client.stdout + client.stderr);
  const lines = client.stderr.trim().split("\n");
  assert.equal(lines.length, 1, client.stderr);
  assert.match(lines[0], phrase);
  assert.match(lines[0], /^client: /);
  assert.doesNotMatch(lines[0], CONTROL_CHARS, "one clean line");
  assert.deepEqual(result.outside, [], "nothing written outside");
  assert.deepEqual(result.added, [], "nothing added to the folder");
}
