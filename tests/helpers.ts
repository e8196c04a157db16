/**
 * Test fixtures: real server and client processes on loopback, and
 * temporary folders.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { PART_SUFFIX, STAGING_NAME, stagingId } from "../lib/store/staging.ts";

/** The repository's top folder. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** The code the test servers and clients share unless a test says otherwise. */
export const TEST_CODE = "test-code-for-the-suite";

/**
 * What a server says when it listens, as text or as the listening event
 * with --json; the port is the first or second group.
 */
export const LISTENING =
  /Listening on [^ ]+:(\d+)|"type":"listening".*"port":(\d+)/;

/** Output and status of a finished process. */
export interface Finished {
  /** Exit code. */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  sink: (text: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    sink(decoder.decode(chunk, { stream: true }));
  }
}

/** A running `server.ts` process. */
export class ServerProcess {
  /** The port it listens on. */
  port = 0;
  /** Its stdout so far. */
  stdout = "";
  /** Its stderr so far. */
  stderr = "";
  readonly child: Deno.ChildProcess;
  readonly #done: Promise<unknown>;
  /** Whether the process exited and all its output was read. */
  #ended = false;

  constructor(child: Deno.ChildProcess) {
    this.child = child;
    this.#done = Promise.all([
      collect(child.stdout, (text) => (this.stdout += text)),
      collect(child.stderr, (text) => (this.stderr += text)),
      child.status,
    ]).finally(() => this.#ended = true);
  }

  /** Waits until it says which port it listens on, and returns that. */
  async listening(): Promise<number> {
    const match = await this.waitFor(LISTENING);
    this.port = Number(match[1] ?? match[2]);
    return this.port;
  }

  /**
   * Waits until stdout or stderr matches `pattern`; fails at once when the
   * process ends without it, as when it lacks a permission. A loaded
   * machine can take seconds to start a program.
   */
  async waitFor(
    pattern: RegExp,
    timeoutMs = 60_000,
  ): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const ended = this.#ended;
      const match = this.stdout.match(pattern) ?? this.stderr.match(pattern);
      if (match) return match;
      if (ended) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(
      `${
        this.#ended ? "Server exited before its" : "Server"
      } output matched ${pattern}:\n${this.stdout}\n${this.stderr}`,
    );
  }

  /** Waits for the process to exit by itself. */
  async exited(): Promise<Finished> {
    const status = await this.child.status;
    await this.#done;
    return { code: status.code, stdout: this.stdout, stderr: this.stderr };
  }

  /** Stops the process and waits for it. */
  async stop(): Promise<Finished> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    return await this.exited();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Starts `server.ts` on a free loopback port with `args`, and with
 * {@link TEST_CODE} unless `env` says otherwise; `wrapper` is a command
 * (and its arguments) that runs the Deno command given after it, such as
 * `prlimit --nofile=N:N`.
 */
export async function startServer(
  args: string[],
  env: Record<string, string> = {},
  wrapper: string[] = [],
): Promise<ServerProcess> {
  const [program, ...before] = [...wrapper, Deno.execPath()];
  const child = new Deno.Command(program, {
    args: [
      ...before,
      "run",
      "-A",
      `${ROOT}server.ts`,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    cwd: ROOT,
    env: { FT_CODE: TEST_CODE, ...env },
  }).spawn();
  const server = new ServerProcess(child);
  await server.listening();
  // The lines after the first come in writes of their own: a test that
  // marks the output to see what a client adds must wait for all of them.
  if (LISTENING_TEXT.test(server.stdout)) await server.waitFor(COMMAND_LINE);
  return server;
}

/** The first line a server says when it listens, as text. */
const LISTENING_TEXT = /^Listening on /m;

/** The last line of what a server says when it listens: a client command. */
const COMMAND_LINE = /^ {2}\S.*client.*\n/m;

/** How {@link runProgram} runs a program. */
export interface RunOptions {
  /** Working folder; the repository's top folder by default. */
  cwd?: string;
  /** The whole environment of the program. */
  env?: Record<string, string>;
  /** Its standard input; none when undefined. */
  stdin?: Uint8Array;
}

/**
 * Runs `command` with `args` to completion. A program still running after
 * three minutes is stopped, so that a client stuck retrying fails its test
 * instead of holding up the suite (sending 256 MiB took a minute on a
 * loaded machine).
 */
export async function runProgram(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<Finished> {
  const child = new Deno.Command(command, {
    args,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    cwd: options.cwd ?? ROOT,
    env: options.env,
    signal: AbortSignal.timeout(180_000),
  }).spawn();
  if (options.stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(options.stdin);
    await writer.close();
  }
  return await finish(child);
}

/**
 * Runs `client.ts` with `args` to completion, with {@link TEST_CODE} by
 * default, and `stdin` as its standard input if given.
 */
export function runClient(
  args: string[],
  options: RunOptions = {},
): Promise<Finished> {
  return runProgram(
    Deno.execPath(),
    ["run", "-A", `${ROOT}client.ts`, ...args],
    {
      ...options,
      env: { FT_CODE: TEST_CODE, ...options.env },
    },
  );
}

/**
 * Starts `client.ts` without waiting for it, with {@link TEST_CODE}
 * unless `env` says otherwise.
 */
export function spawnClient(
  args: string[],
  env: Record<string, string> = {},
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}client.ts`, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    cwd: ROOT,
    env: { FT_CODE: TEST_CODE, ...env },
  }).spawn();
}

/** Waits for `child` to exit, with all its output. */
export async function finish(child: Deno.ChildProcess): Promise<Finished> {
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A temporary folder, removed on dispose. */
export async function tempDir(): Promise<
  { path: string } & AsyncDisposable
> {
  const path = await Deno.makeTempDir({ prefix: "ft-test-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** Every path below `folder`, relative and sorted, folders with a '/'. */
export async function listTree(folder: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(dir: string, prefix: string): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      const relative = prefix + entry.name;
      // The server's private staging folder: see stagedFiles.
      if (relative === STAGING_NAME) continue;
      if (entry.isDirectory) {
        found.push(relative + "/");
        await walk(`${dir}/${entry.name}`, relative + "/");
      } else {
        found.push(relative);
      }
    }
  }
  await walk(folder, "");
  return found.sort();
}

/**
 * The files in the server's staging folder under `dest`: data being
 * received or kept to resume (`ID.part`) and their records (`ID.rec`).
 */
export async function stagedFiles(dest: string): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${dest}/${STAGING_NAME}`)) {
      found.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found.sort();
}

/**
 * Where the server stages the data of `path` under `dest` (a destination
 * that compares names exactly, as on Linux).
 */
export function stagedPath(dest: string, path: string): string {
  return `${dest}/${STAGING_NAME}/${stagingId(path)}${PART_SUFFIX}`;
}

/** A file a process holds open, as /proc shows it. */
export interface OpenFile {
  /** Its `/proc/PID/fd/N` path, which opens and stats the file itself. */
  path: string;
  /** What the link says: the file's path, with " (deleted)" if it has none. */
  target: string;
}

/**
 * The files that process `pid` holds open in the staging folder of `dest`,
 * named or not; none where there is no /proc.
 */
export async function openStagedFiles(
  pid: number,
  dest: string,
): Promise<OpenFile[]> {
  const staging = `${await Deno.realPath(dest)}/${STAGING_NAME}/`;
  const descriptors = `/proc/${pid}/fd`;
  const found: OpenFile[] = [];
  try {
    for await (const entry of Deno.readDir(descriptors)) {
      const path = `${descriptors}/${entry.name}`;
      const target = await Deno.readLink(path).catch(() => "");
      if (target.startsWith(staging)) found.push({ path, target });
    }
  } catch {
    // Not Linux, or the process is gone.
  }
  return found;
}

/** A connected pair of real loopback TCP sockets. */
export async function socketPair(): Promise<
  [Deno.Conn, Deno.Conn] & Disposable
> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = await Deno.connect({
    hostname: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
  });
  const server = await accepted;
  return Object.assign([client, server] as [Deno.Conn, Deno.Conn], {
    [Symbol.dispose]() {
      for (const conn of [client, server]) {
        try {
          conn.close();
        } catch {
          // Closed by the test.
        }
      }
    },
  });
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Writes `bytes` random bytes to `path` and returns them. */
export async function randomFile(
  path: string,
  bytes: number,
): Promise<Uint8Array> {
  const data = new Uint8Array(bytes);
  // getRandomValues fills at most 64 KiB per call.
  for (let at = 0; at < bytes; at += 65536) {
    crypto.getRandomValues(data.subarray(at, Math.min(at + 65536, bytes)));
  }
  await Deno.writeFile(path, data);
  return data;
}

/** Whether anything, a link included, is at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
