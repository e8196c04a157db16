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
import { limitWaits, WaitLimit } from "./client_limits.ts";
import { type Outcome, type SendResult, totalsOf } from "./send_run.ts";

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
  #outcomes = new Map<string, Outcome>();
  #bytes = 0;
  #files: number | undefined;
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
      this.#outcomes.set(
        event.path,
        event.reason === "different" ? "different" : "skipped",
      );
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
    const files = this.#files === undefined ? {} : { files: this.#files };
    return {
      ...totalsOf(this.#outcomes, this.#bytes, this.#wireBytes),
      ...files,
    };
  }

  /** Notes how many files the server's manifest had. */
  noteFiles(count: number): void {
    this.#files = count;
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
      idleTimeoutMs: number,
    ): Promise<SendResult> {
      // Once data flows the server has nothing to hash: `wait` messages
      // alone, for longer than the idle timeout, mean it is stuck.
      limitWaits(channel, new WaitLimit(idleTimeoutMs));
      const store = new Destination(run.root);
      const session = await receiveSession(channel, store, {
        emit: run.emit,
        limits,
        budget: run.budget,
        meter: stream,
        peer: "Server",
        // Counted as it arrives, so that an attempt cut short counts too.
        onData: (bytes, wire) => run.addBytes(bytes, wire),
      });
      run.noteFiles(session.files);
      return run.result();
    },
    giveUp: () => run.result(),
  };
}
