/**
 * What a server does with each authenticated session: receive files into
 * its destination, or send the files it shares (`--share`), with the
 * transfer layer's receiver or sender, the very ones the client runs the
 * other way.
 *
 * @module
 */

import type { IdleTimeoutStream } from "../net/idle.ts";
import type { Channel } from "../secure/channel.ts";
import type { FileStore } from "../store/file_store.ts";
import type { LocalEntries } from "../store/scan.ts";
import type { CompressMode } from "./compression.ts";
import type { EventSink } from "./events.ts";
import type { MemoryBudget } from "./memory_budget.ts";
import { receiveSession, type SessionLimits } from "./receiver.ts";
import { limitWaits, WaitLimit, waitLimitMs } from "./client_limits.ts";
import { sendEntries } from "./sender.ts";
import { SendRun } from "./send_run.ts";

/** A server that receives files. */
export interface ReceiveWork {
  /** What the server does with each session. */
  kind: "receive";
  /** Where one session's files go: a new store for each session. */
  store: () => FileStore;
  /** What one session may send. */
  limits: SessionLimits;
  /** What all sessions together may hold in memory. */
  budget: MemoryBudget;
  /** Stop after the first session. */
  once: boolean;
}

/** A server that shares files: each session sends them to its client. */
export interface ShareWork {
  /** What the server does with each session. */
  kind: "share";
  /** The files and folders shared, as scanned. */
  entries: LocalEntries;
  /** Stop after the first session that got every file. */
  untilDownloaded: boolean;
  /** Whether the records of the files go compressed. */
  compress?: CompressMode;
}

/** What one session came to. */
export interface SessionTotals {
  /** Files in the session. */
  files: number;
  /** Files verified (received, or sent and confirmed) or already there. */
  verified: number;
  /** Of those, the files already there. */
  skipped: number;
  /** Files left as they were: a different one has their name there. */
  different: number;
  /** Files refused or failed. */
  failed: number;
  /** File bytes moved. */
  bytes: number;
  /** Bytes they took on the wire, compressed or not. */
  wireBytes: number;
}

/**
 * Runs one authenticated session: receiving files, or sending the shared
 * ones, when the client's `wait` messages count against the same limit a
 * sending client puts on a server (`idleTimeoutMs` plus the time hashing
 * the files can take).
 */
export async function runSession(
  channel: Channel,
  stream: IdleTimeoutStream,
  work: ReceiveWork | ShareWork,
  emit: EventSink,
  idleTimeoutMs: number,
): Promise<SessionTotals> {
  if (work.kind === "receive") {
    return await receiveSession(channel, work.store(), {
      emit,
      limits: work.limits,
      budget: work.budget,
      meter: stream,
    });
  }
  const run = new SendRun(work.entries, emit, undefined, work.compress);
  limitWaits(
    channel,
    new WaitLimit(
      waitLimitMs(work.entries, idleTimeoutMs),
      () => run.progress,
      "Client",
    ),
  );
  const result = await sendEntries(channel, run, "Client");
  // A file the client could not take yet is not downloaded either.
  run.failDeferred("client");
  return {
    files: work.entries.fileTotals().files,
    // Counted as a receiving server counts them: the files the client
    // has now, received or already there.
    verified: result.verified + result.skipped,
    skipped: result.skipped,
    different: result.different ?? 0,
    failed: run.result().failed,
    bytes: result.bytes,
    wireBytes: result.wireBytes ?? result.bytes,
  };
}
