/**
 * The memory attack of the security review, as a reusable driver: many
 * authenticated sessions each send a huge manifest and then read the
 * decisions slowly, just fast enough to keep the idle timeout quiet,
 * while a legitimate client sends a file. Used by tests/exhaustion_test.ts
 * at a small scale and by scripts/memory_attack.ts at full scale.
 *
 * @module
 */

import { FrameType } from "../protocol.ts";
import { encodeMessage, type Entry } from "../protocol.ts";
import { HostileClient } from "./hostile_client.ts";
import { type Finished, runClient, sleep } from "./helpers.ts";

/** The shape of one attack. */
export interface MemoryAttack {
  /** The server's port on 127.0.0.1. */
  port: number;
  /** Sessions at once. */
  sessions: number;
  /** Entries in each session's manifest. */
  entries: number;
  /** Bytes each session reads every `readEveryMs` once its manifest is sent. */
  readBytes: number;
  /** See `readBytes`. */
  readEveryMs: number;
  /**
   * How long the attack goes on once every session has begun; the
   * legitimate client starts half-way. 0: it starts at once, and the
   * attack ends with it.
   */
  durationMs?: number;
}

/** What the attack did. */
export interface MemoryAttackResult {
  /** The legitimate client's run. */
  legitimate: Finished;
  /** How long it took, in seconds. */
  legitimateSeconds: number;
  /** Sessions whose whole manifest went out. */
  manifestsSent: number;
}

/** The manifest messages of `count` entries, encoded once for all sessions. */
function manifestPayloads(count: number): Uint8Array[] {
  const payloads: Uint8Array[] = [];
  const perMessage = 4000;
  for (let start = 0; start < count; start += perMessage) {
    const entries: Entry[] = [];
    for (let i = start; i < Math.min(count, start + perMessage); i++) {
      entries.push({
        path: `folder-${i % 1000}/a-file-with-a-name-of-some-length-${i}`,
        kind: "file",
        size: 1,
        mode: 0o644,
        mtime: 0,
      });
    }
    payloads.push(encodeMessage({
      type: "manifest",
      entries,
      more: start + perMessage < count,
    }));
  }
  return payloads;
}

/**
 * Runs the attack until the legitimate client, started once every session
 * has begun sending, is done; then closes every attacking session.
 */
export async function runMemoryAttack(
  attack: MemoryAttack,
  legitimateArgs: string[],
): Promise<MemoryAttackResult> {
  const payloads = manifestPayloads(attack.entries);
  // One key exchange at a time, as a patient attacker would, so that no
  // limit on unauthenticated connections turns a session away.
  const clients: HostileClient[] = [];
  for (let i = 0; i < attack.sessions; i++) {
    const client = await HostileClient.connect(attack.port);
    await client.handshake();
    clients.push(client);
  }
  let manifestsSent = 0;
  let stop = false;
  const started: Promise<void>[] = [];
  const sessions = clients.map(async (client) => {
    const begun = Promise.withResolvers<void>();
    started.push(begun.promise);
    try {
      for (const [i, payload] of payloads.entries()) {
        await client.frame(FrameType.Control, payload);
        if (i === 0) begun.resolve();
        if (stop) return;
      }
      manifestsSent++;
      const buffer = new Uint8Array(attack.readBytes);
      while (!stop) {
        await sleep(attack.readEveryMs);
        if ((await client.conn.read(buffer)) === null) return;
      }
    } catch {
      // The server dropped this session: that is what it may do.
    } finally {
      begun.resolve();
    }
  });
  await Promise.all(started);
  const duration = attack.durationMs ?? 0;
  await sleep(duration / 2);
  const before = performance.now();
  const legitimate = await runClient(legitimateArgs);
  const legitimateSeconds = (performance.now() - before) / 1000;
  await sleep(duration / 2);
  stop = true;
  for (const client of clients) client.close();
  await Promise.allSettled(sessions);
  return { legitimate, legitimateSeconds, manifestsSent };
}

/** The peak resident memory of process `pid` so far, in bytes. */
export async function peakRss(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = status.match(/^VmHWM:\s+(\d+) kB$/m);
  if (match === null) throw new Error(`No VmHWM for process ${pid}`);
  return Number(match[1]) * 1024;
}
