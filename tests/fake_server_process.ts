/**
 * Runs `tests/fake_server.ts`, a misbehaving server, as its own process
 * for client tests, and counts the connections it accepted.
 *
 * @module
 */

import { join } from "node:path";
import { ROOT } from "./helpers.ts";

/** A running tests/fake_server.ts and the connections it accepted. */
export interface FakeServer extends AsyncDisposable {
  /** Its port on 127.0.0.1. */
  port: number;
  /** Stops it; resolves to how many connections it accepted. */
  stop(): Promise<number>;
  /** What it printed so far. */
  output(): string;
}

/** Starts tests/fake_server.ts in `mode` with `args`, once it listens. */
export async function startFake(
  mode: string,
  ...args: string[]
): Promise<FakeServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "tests/fake_server.ts"), mode, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  let port = 0;
  while (port === 0) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Fake server exited early: ${stdout}`);
    stdout += value;
    port = Number(stdout.match(/^listening (\d+)$/m)?.[1] ?? 0);
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      stdout += value;
    }
  })();
  const stop = async () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
    await rest;
    return stdout.match(/^connection \d+$/gm)?.length ?? 0;
  };
  return {
    port,
    stop,
    output: () => stdout,
    [Symbol.asyncDispose]: async () => void await stop(),
  };
}
