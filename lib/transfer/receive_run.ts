/**
 * The client that gets files (`client.ts --get`): each attempt is a
 * receiving session into its destination folder, exactly as the server
 * receives, and the run counts what became of each file across attempts.
 *
 * @module
 */

import type { IdleTimeoutStream } from "../net/idle.ts";
import type { Channel } from "../secure/channel.ts";
import { Destination, type DestinationRoot } from "../store/destination.ts";
import type { ClientJob } from "./attempts.ts";
import type { EventSink } from "./events.ts";
import { MemoryBudget } from "./memory_budget.ts";
import { receiveSession, type SessionLimits } from "./receiver.ts";
import type { SendResult } from "./send_run.ts";

/** What a client that gets files holds in memory for one file list. */
const CLIENT_MEMORY: number = 512 * 1024 * 1024;

/**
 * One run of a receiving client across reconnections: what became of each
 * file, each counted once (a file received in an earlier attempt is "already
 * there" in the next, and stays counted as received).
 */
export class ReceiveRun {
  /** Where the files go. */
  readonly root: DestinationRoot;
  #sink: EventSink;
  #outcomes = new Map<string, "verified" | "skipped" | "failed">();
  #bytes = 0;
  #wireBytes = 0;
  #budget = new MemoryBudget(CLIENT_MEMORY);

  /** A run into `root` that reports to `sink`. */
  constructor(root: DestinationRoot, sink: EventSink) {
    this.root = root;
    this.#sink = sink;
  }

  /** Grows whenever an attempt gets anywhere: bytes received, files settled. */
  get progress(): number {
    return this.#bytes + this.#outcomes.size;
  }

  /** Records what an event says of its file and passes it on. */
  readonly emit: EventSink = (event) => {
    if (event.type === "progress") {
      // The session's own count starts again with each attempt.
      this.#sink(event);
      return;
    }
    if (event.type === "file-verified") {
      this.#outcomes.set(event.path, "verified");
    } else if (event.type === "file-skipped") {
      // Received by an earlier attempt of this run: already reported.
      if (this.#outcomes.get(event.path) === "verified") return;
      this.#outcomes.set(event.path, "skipped");
    } else if (event.type === "file-failed") {
      this.#outcomes.set(event.path, "failed");
    }
    this.#sink(event);
  };

  /** Counts `count` file bytes received, as `wire` bytes of payload. */
  addBytes(count: number, wire: number = count): void {
    this.#bytes += count;
    this.#wireBytes += wire;
  }

  /** The totals of the run, each file counted once, as it ended. */
  result(): SendResult {
    const totals = { verified: 0, skipped: 0, failed: 0 };
    for (const outcome of this.#outcomes.values()) totals[outcome]++;
    return { ...totals, bytes: this.#bytes, wireBytes: this.#wireBytes };
  }

  /** The budget each session's file list is held within. */
  get budget(): MemoryBudget {
    return this.#budget;
  }
}

/** Getting the server's files into `run`'s folder, as a {@link ClientJob}. */
export function receiveJob(
  run: ReceiveRun,
  limits: SessionLimits,
): ClientJob<SendResult> {
  return {
    serverSends: true,
    get progress() {
      return run.progress;
    },
    emit: run.emit,
    deferred: 0,
    async attempt(
      channel: Channel,
      stream: IdleTimeoutStream,
    ): Promise<SendResult> {
      const store = new Destination(run.root);
      await receiveSession(channel, store, {
        emit: run.emit,
        limits,
        budget: run.budget,
        meter: stream,
        peer: "Server",
        // Counted as it arrives, so that an attempt cut short counts too.
        onData: (bytes, wire) => run.addBytes(bytes, wire),
      });
      return run.result();
    },
    giveUp: () => run.result(),
  };
}
