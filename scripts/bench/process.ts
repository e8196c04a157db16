/**
 * Starting the processes that are measured: optionally inside a network
 * namespace and under `/usr/bin/time` for their peak resident memory, with
 * their output drained, and killed when the bench is interrupted.
 *
 * @module
 */

import { join } from "node:path";
import { onCleanup } from "./cleanup.ts";

/** What every measurement needs to know about this bench run. */
export interface Context {
  /** Whether `/usr/bin/time -f %M` works, to measure peak RSS. */
  useTime: boolean;
  /** Scratch folder of this bench run, deleted at the end. */
  work: string;
}

/** Where and how to start one process. */
export interface LaunchOptions {
  /** Network namespace to run in (through `ip netns exec`). */
  ns?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Whether to measure its peak RSS (when `/usr/bin/time` works). */
  measure?: boolean;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `command` can be started at all. */
export async function has(command: string, args: string[]): Promise<boolean> {
  try {
    await new Deno.Command(command, { args, stdout: "null", stderr: "null" })
      .output();
    return true;
  } catch {
    return false;
  }
}

/** Runs `command` with `args`, throwing with its stderr unless it succeeds. */
export async function runChecked(
  command: string,
  args: string[],
): Promise<void> {
  const output = await new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed: ${
        new TextDecoder().decode(output.stderr).trim()
      }`,
    );
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Process ids of the direct children of `pid` (empty once it is gone). */
export async function childPids(pid: number): Promise<number[]> {
  try {
    const text = await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`);
    return text.trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Sends `signal` to `pid` and all of its descendants, children first. */
export async function killTree(
  pid: number,
  signal: Deno.Signal = "SIGKILL",
): Promise<void> {
  for (const child of await childPids(pid)) await killTree(child, signal);
  try {
    Deno.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Waits until a socket listens on TCP `port`, as seen by process `pid`
 * (which tells the network namespace), without connecting to it: some
 * listeners, such as `nc -l`, take a single connection.
 */
export async function waitListening(
  port: number,
  pid: number | "self" = "self",
  timeoutMs = 10_000,
): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    for (const table of ["tcp", "tcp6"]) {
      const text = await Deno.readTextFile(`/proc/${pid}/net/${table}`)
        .catch(() => "");
      for (const line of text.split("\n").slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields[1]?.endsWith(hex) && fields[3] === "0A") return;
      }
    }
    await sleep(2);
  }
  throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
}

const STDOUT_KEEP = 1024 * 1024;
const STDERR_KEEP = 4 * 1024;
let launches = 0;

/** One started process whose output is drained and kept in part. */
export class Launched {
  /** The process started: `ip`, `/usr/bin/time` or the tool itself. */
  readonly process: Deno.ChildProcess;
  /** Resolves with its status once it exited and its output ended. */
  readonly exited: Promise<Deno.CommandStatus>;
  #name: string;
  #rssFile: string | null;
  #stdout = "";
  #stderr = "";
  #wrapped: boolean;
  #waiters: (() => void)[] = [];
  #ended = false;

  /** Starts `command` as `options` say; `name` is for messages. */
  constructor(
    ctx: Context,
    name: string,
    command: string,
    args: string[],
    options: LaunchOptions = {},
  ) {
    this.#name = name;
    const measure = (options.measure ?? true) && ctx.useTime;
    this.#rssFile = measure ? join(ctx.work, `rss-${++launches}`) : null;
    let argv = [command, ...args];
    if (this.#rssFile) {
      // /usr/bin/time gives the peak RSS in KiB; bash's `times` the CPU
      // of its children to the millisecond, where time's %U and %S cut
      // to 10 ms.
      argv = [
        "bash",
        "-c",
        '/usr/bin/time -f %M -o "$0" "$@"; s=$?; times > "$0.cpu"; exit $s',
        this.#rssFile,
        ...argv,
      ];
    }
    // `ip netns exec` replaces itself with the command, so the process
    // started is in the namespace and its /proc/PID/net shows its sockets.
    if (options.ns) argv = ["ip", "netns", "exec", options.ns, ...argv];
    this.#wrapped = this.#rssFile !== null;
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { DENO_NO_UPDATE_CHECK: "1", ...options.env },
    }).spawn();
    this.process = child;
    const cleanup = onCleanup(() =>
      this.#ended ? undefined : killTree(child.pid)
    );
    const drain = async (
      stream: ReadableStream<Uint8Array>,
      add: (text: string) => void,
    ) => {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        add(text);
      }
    };
    const outputs = Promise.all([
      drain(child.stdout, (text) => {
        if (this.#stdout.length < STDOUT_KEEP) this.#stdout += text;
        for (const wake of this.#waiters.splice(0)) wake();
      }),
      drain(child.stderr, (text) => {
        this.#stderr = (this.#stderr + text).slice(-STDERR_KEEP);
      }),
    ]);
    this.exited = (async () => {
      const status = await child.status;
      this.#ended = true;
      await outputs;
      cleanup.forget();
      for (const wake of this.#waiters.splice(0)) wake();
      return status;
    })();
  }

  /** Process id of the process started. */
  get pid(): number {
    return this.process.pid;
  }

  /** What it printed to stdout so far (its first MiB). */
  get stdout(): string {
    return this.#stdout;
  }

  /** The end of what it printed to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves once its stdout contains `text`; rejects if it exits first. */
  async waitForOutput(text: string, timeoutMs = 30_000): Promise<void> {
    let exited = false;
    this.exited.then(() => exited = true);
    const deadline = performance.now() + timeoutMs;
    while (!this.#stdout.includes(text)) {
      if (exited) throw this.failure(`exited before printing "${text}"`);
      if (performance.now() > deadline) {
        throw this.failure(`did not print "${text}" in ${timeoutMs} ms`);
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /** Whether it exited (its process id may then belong to another). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Process ids of the tool itself (below `/usr/bin/time`, if any). */
  async toolPids(): Promise<number[]> {
    if (this.#ended) return [];
    if (!this.#wrapped) return [this.pid];
    // bash, then /usr/bin/time, then the tool.
    const times = await childPids(this.pid);
    return (await Promise.all(times.map(childPids))).flat();
  }

  /** Sends `signal` to the tool itself, not to `/usr/bin/time`. */
  async signal(signal: Deno.Signal): Promise<void> {
    for (const pid of await this.toolPids()) {
      try {
        Deno.kill(pid, signal);
      } catch {
        // Already gone.
      }
    }
  }

  /** Kills it and everything it started, and waits for it to end. */
  async kill(): Promise<void> {
    if (!this.#ended) await killTree(this.pid);
    await this.exited;
  }

  /** Waits for it to end and throws unless it exited with status 0. */
  async succeed(): Promise<void> {
    const status = await this.exited;
    if (!status.success) throw this.failure(`exited with ${status.code}`);
  }

  /** An error about it that ends with what it printed to stderr. */
  failure(what: string): Error {
    const tail = this.#stderr.trim().split("\n").slice(-5).join("\n  ");
    return new Error(`${this.#name} ${what}${tail ? `:\n  ${tail}` : ""}`);
  }

  /** Its peak resident memory in KiB, once it exited, if measured. */
  async peakRssKiB(): Promise<number | null> {
    return (await this.#measured())?.[0] ?? null;
  }

  /**
   * The CPU seconds it used (user and system, its children included), once
   * it exited, if measured.
   */
  async cpuSeconds(): Promise<number | null> {
    if (this.#rssFile === null) return null;
    await this.exited;
    const text = await Deno.readTextFile(`${this.#rssFile}.cpu`)
      .catch(() => "");
    // `times`: the shell's own user and system time, then its children's.
    const children = text.trim().split("\n")[1]?.match(
      /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/,
    );
    if (!children) return null;
    const [, um, us, sm, ss] = children.map(Number);
    return um * 60 + us + sm * 60 + ss;
  }

  /** What `/usr/bin/time` wrote: the peak RSS in KiB. */
  async #measured(): Promise<number[] | null> {
    if (this.#rssFile === null) return null;
    await this.exited;
    try {
      const text = await Deno.readTextFile(this.#rssFile);
      // A tool killed by a signal gets a line about it before the figure.
      const value = Number(text.trim().split("\n").at(-1));
      return Number.isFinite(value) ? [value] : null;
    } catch {
      return null;
    }
  }
}
