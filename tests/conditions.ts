/**
 * Waiting in tests for what a test needs to have happened (a file grown, a
 * proxy paused, a process reading a file) rather than for a time; and
 * ports and sizes that fit the machine.
 *
 * @module
 */

import { join } from "node:path";
import { hashFile } from "../lib/store/hash.ts";
import type { FaultProxy } from "./fault_proxy.ts";
import { sleep } from "./helpers.ts";

const MiB = 1024 * 1024;

/**
 * How long what must happen may take: a loaded machine can take seconds
 * for what an idle one does in milliseconds, and only a broken program
 * makes a test wait this long.
 */
export const PATIENCE_MS = 60_000;

/** Waits until `path` exists and holds more than `bytes` bytes. */
export async function waitForSize(
  path: string,
  bytes: number,
): Promise<number> {
  const deadline = Date.now() + PATIENCE_MS;
  while (Date.now() < deadline) {
    const size = (await Deno.stat(path).catch(() => null))?.size ?? 0;
    if (size > bytes) return size;
    await sleep(5);
  }
  throw new Error(`${path} never grew past ${bytes} bytes`);
}

/**
 * Waits until process `pid` has `path` open, as the server has only while
 * it hashes its copy (it reads by position, so the descriptor's offset
 * says nothing), seen in /proc/PID/fd.
 */
export async function waitForHashing(pid: number, path: string): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (Date.now() < deadline) {
    for await (const entry of Deno.readDir(`/proc/${pid}/fd`)) {
      const target = await Deno.readLink(`/proc/${pid}/fd/${entry.name}`)
        .catch(() => "");
      if (target === path) return;
    }
    await sleep(5);
  }
  throw new Error(`process ${pid} never read ${path}`);
}

/**
 * A size that takes this machine about `ms` to hash: so that hashing a
 * sparse file of it takes as long on a fast machine as on a slow one (a
 * fixed 2 GiB took under a second on one, minutes on the other). Measured
 * on a sparse file in `folder`.
 */
export async function hashedIn(ms: number, folder: string): Promise<number> {
  const probe = join(folder, "probe.bin");
  {
    using file = await Deno.open(probe, { write: true, create: true });
    await file.truncate(256 * MiB);
  }
  const started = performance.now();
  await hashFile(probe);
  const perMs = 256 * MiB / Math.max(1, performance.now() - started);
  await Deno.remove(probe);
  const size = Math.ceil(perMs * ms / MiB) * MiB;
  return Math.min(Math.max(size, 256 * MiB), 64 * 1024 * MiB);
}

/** Waits until `proxy` paused itself at its mark (see `pauseAfter`). */
export async function waitForPause(proxy: FaultProxy): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (!proxy.paused) {
    if (Date.now() > deadline) {
      throw new Error(`the proxy never paused: ${proxy.bytesUpstream} bytes`);
    }
    await sleep(5);
  }
}

/**
 * A free port, below the range the kernel takes ports from for port 0 and
 * for outgoing connections where it can tell: then no other test's socket
 * takes it while no server holds it.
 */
export function freePort(): number {
  let low = 0;
  try {
    const range = Deno.readTextFileSync(
      "/proc/sys/net/ipv4/ip_local_port_range",
    );
    low = Number(range.trim().split(/\s+/)[0]);
  } catch {
    // Not Linux: any free port.
  }
  for (;;) {
    const port = low > 2048
      ? 1024 + Math.floor(Math.random() * (low - 1024))
      : 0;
    try {
      using listener = Deno.listen({ hostname: "127.0.0.1", port });
      return listener.addr.port;
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    }
  }
}
