/**
 * The server's side of a transfer session: takes the manifest and decides
 * on it ({@link ./receive_setup.ts}), writes the streamed data to staged
 * files and confirms each file by hash once it is durable under its name
 * ({@link ./commit.ts}).
 *
 * @module
 */

import { ConnectionClosedError } from "../net/byte_stream.ts";
import type { Channel } from "../secure/channel.ts";
import { clipMessage } from "../protocol/text.ts";
import { publicMessage, RemoteError } from "../common/errors.ts";
import { type EventSink, ProgressCounter } from "./events.ts";
import type { FileStore } from "../store/file_store.ts";
import type { MemoryBudget, Reservation } from "./memory_budget.ts";
import { DataPhase } from "./receive_data.ts";
import type { SessionState } from "./receive_state.ts";
import { EntryList } from "../protocol/entry_list.ts";
import { IndexSet } from "./index_set.ts";
import {
  asksForProof,
  decideAll,
  type ProofOutcome,
  receiveManifest,
  receiveProofs,
  send,
  sendDecisions,
  SessionRefusedError,
} from "./receive_setup.ts";
import { type PeerMeter, SetupClock } from "./setup_clock.ts";
import { makeFolders } from "./receive_folders.ts";
import { lower, ownEnd, type PeerName } from "./peer.ts";
import { noteKept } from "./kept_part.ts";
import { formatBytes } from "../common/format.ts";
import type { Decision, IfDifferent } from "../protocol/messages.ts";
import { statfs } from "node:fs/promises";

export { SessionRefusedError };

/** Totals of one session, from the server's point of view. */
export interface ReceiveResult {
  /** Files in the session. */
  files: number;
  /** Files written and verified, or already there with the same hash. */
  verified: number;
  /** Of those, the files already there. */
  skipped: number;
  /**
   * Files left as they were because a different file has their name here,
   * as one side asked: neither verified nor failed.
   */
  different: number;
  /** Files refused or failed. */
  failed: number;
  /** File bytes received. */
  bytes: number;
  /** Bytes those took on the wire, compressed or not. */
  wireBytes: number;
}

/** What one session may send to this server. */
export interface SessionLimits {
  /** Entries in the manifest, at most the protocol's MAX_ENTRIES. */
  maxEntries: number;
  /** Bytes of all files together. */
  maxBytes: number;
}

/** How a session reports and what it may take. */
export interface SessionOptions {
  /** Receives the session's events. */
  emit: EventSink;
  /** What the session may send. */
  limits: SessionLimits;
  /** What all sessions together may hold in memory. */
  budget: MemoryBudget;
  /** The connection's record of the client's pace, for the setup deadline. */
  meter?: PeerMeter;
  /** What the sender is called in messages: the client by default. */
  peer?: PeerName;
  /** Learns of each data frame: its file bytes and its payload's. */
  onData?: (bytes: number, wire: number) => void;
}

/** The slowest hashing a client's proofs are given time for: 32 MiB/s. */
const PROOF_BYTES_PER_MS = 32 * 1024 * 1024 / 1000;

/** Room left on the disk beyond the files, for folders and metadata. */
const SPACE_MARGIN = 1024 * 1024;

/** One client session against a destination folder. */
class Session {
  #state: SessionState;
  #options: SessionOptions;
  #data: DataPhase | null = null;

  constructor(channel: Channel, store: FileStore, options: SessionOptions) {
    this.#options = options;
    const state: SessionState = {
      channel,
      store,
      emit: (event, index) => {
        if (index !== undefined && event.type === "file-start") {
          state.progress?.start(index, event.path, event.offset);
        } else if (
          index !== undefined &&
          (event.type === "file-verified" || event.type === "file-skipped" ||
            event.type === "file-failed")
        ) {
          state.progress?.settle(index);
        }
        options.emit(event, index);
      },
      entries: new EntryList(),
      decisions: [],
      open: new IndexSet(0),
      resumable: new Set(),
      result: {
        verified: 0,
        skipped: 0,
        different: 0,
        failed: 0,
        bytes: 0,
        wireBytes: 0,
      },
      onData: options.onData,
      progress: null,
      peer: options.peer ?? "Client",
    };
    this.#state = state;
  }

  async run(): Promise<ReceiveResult> {
    const reservation = this.#options.budget.reserve();
    try {
      const clock = new SetupClock(
        this.#options.meter,
        () => this.#state.channel.close(),
        { peer: this.#state.peer },
      );
      await clock.watch(() => this.#setUp(reservation, clock));
      this.#data = new DataPhase(this.#state);
      await this.#data.run();
      const { files } = this.#state.entries.fileTotals();
      return { files, ...this.#state.result };
    } catch (error) {
      // Files already verified are complete: they still go in place, even
      // if the client can no longer be told.
      const kept = await this.#data?.abandon() ?? null;
      if (kept !== null) noteKept(error, kept);
      throw error;
    } finally {
      this.#state.store.release();
      reservation.release();
    }
  }

  /** Everything before the data: manifest, decisions, proofs. */
  async #setUp(reservation: Reservation, clock: SetupClock): Promise<void> {
    const { limits } = this.#options;
    const asked: { ifDifferent?: IfDifferent } = {};
    this.#state.entries = await receiveManifest(
      this.#state.channel,
      limits.maxEntries,
      reservation,
      this.#state.peer,
      asked,
    );
    this.#checkSize();
    const refusal = this.#state.store.refuseManifest(this.#state.entries);
    if (refusal !== null) throw new SessionRefusedError(refusal);
    const { store } = this.#state;
    this.#state.decisions = await decideAll(
      this.#state.channel,
      store,
      this.#state.entries,
      asked.ifDifferent,
      async (decisions) => {
        await this.#checkSpace(decisions);
        await makeFolders(store, this.#state.entries, decisions);
      },
    );
    this.#state.open = new IndexSet(this.#state.entries.length);
    this.#state.progress = new ProgressCounter(
      this.#state.entries,
      this.#state.emit,
    );
    const { entries } = this.#state;
    for (const [index, decision] of this.#state.decisions.entries()) {
      if (decision.action === "refuse") {
        this.#state.result.failed++;
        this.#state.emit({
          type: "file-failed",
          path: entries.path(index),
          message: `refused: ${decision.reason}`,
        }, index);
      } else if (entries.kind(index) === "file") {
        this.#state.open.add(index);
      }
    }
    await sendDecisions(this.#state.channel, this.#state.decisions);
    // Hashing what it is to prove is the client's work, not a stall.
    clock.extend(this.#bytesToProve() / PROOF_BYTES_PER_MS);
    // The hash of each file found already there, 32 bytes each, for its
    // event: often every file of the manifest.
    let proven: Uint8Array | null = null;
    const count = this.#state.decisions.filter(asksForProof).length;
    let number = 0;
    const outcomes = await receiveProofs(
      this.#state.channel,
      this.#state.decisions,
      async (index, sha256) => {
        const decision = this.#state.decisions[index];
        this.#state.emit({
          type: "checking",
          path: this.#state.entries.path(index),
          size: decision.action === "send"
            ? decision.offset
            : this.#state.entries.size(index),
          number: ++number,
          count,
        });
        const same = await this.#state.store.prove(
          this.#state.entries.get(index),
          sha256,
        );
        if (same) {
          proven ??= new Uint8Array(this.#state.entries.length * 32);
          proven.subarray(index * 32, index * 32 + 32).setFromHex(sha256);
        }
        return same;
      },
      this.#state.peer,
      (index) => this.#savedAs(index),
    );
    for (const [index, outcome] of outcomes) {
      const sha256 = outcome === "match"
        ? proven!.subarray(index * 32, index * 32 + 32).toHex()
        : undefined;
      this.#settleProof(index, outcome, sha256);
    }
  }

  /** Bytes the client hashes for its proofs. */
  #bytesToProve(): number {
    let bytes = 0;
    for (const [index, decision] of this.#state.decisions.entries()) {
      if (decision.action === "compare") {
        bytes += this.#state.entries.size(index);
      }
      if (decision.action === "send") bytes += decision.offset;
    }
    return bytes;
  }

  /** Acts on what a proof showed: already there, resumable, or neither. */
  #settleProof(
    index: number,
    outcome: ProofOutcome,
    sha256: string | undefined,
  ): void {
    const decision = this.#state.decisions[index];
    if (outcome === "unreadable") {
      this.#close(index, `the ${lower(this.#state.peer)} could not read it`);
      return;
    }
    if (decision.action === "send") {
      if (outcome === "match") this.#state.resumable.add(index);
      return;
    }
    if (outcome === "match") {
      this.#state.open.delete(index);
      this.#state.result.verified++;
      this.#state.result.skipped++;
      const savedAs = this.#savedAs(index);
      this.#state.emit({
        type: "file-skipped",
        path: this.#state.entries.path(index),
        reason: "already-there",
        sha256,
        ...(savedAs === undefined ? {} : { savedAs }),
      }, index);
    } else if (decision.action === "compare" && !decision.replace) {
      if (decision.ifDifferent === "skip") {
        this.#state.open.delete(index);
        this.#state.result.different++;
        this.#state.emit({
          type: "file-skipped",
          path: this.#state.entries.path(index),
          reason: "different",
        }, index);
        return;
      }
      this.#close(
        index,
        this.#state.peer === "Client"
          ? "a different file with this name is already here, and stays (start the server with --overwrite to replace such files)"
          : "a different file with this name is already here, and stays (--overwrite replaces it, --rename saves the new one under another name, --skip-existing leaves it)",
      );
    }
  }

  /** The new name entry `index` is saved, or already there, under. */
  #savedAs(index: number): string | undefined {
    return this.#state.store.savedAs?.(this.#state.entries.path(index));
  }

  /** Settles an open file as failed for `message`. */
  #close(index: number, message: string): void {
    this.#state.open.delete(index);
    this.#state.result.failed++;
    this.#state.emit({
      type: "file-failed",
      path: this.#state.entries.path(index),
      message,
    }, index);
  }

  #checkSize(): void {
    const total = this.#state.entries.fileTotals().bytes;
    if (total > this.#options.limits.maxBytes) {
      throw new SessionRefusedError(
        `The files total ${formatBytes(total)}, more than the ${
          formatBytes(this.#options.limits.maxBytes)
        } ${
          this.#state.peer === "Client"
            ? "this server takes in one session (its --max-size)"
            : "this client takes in one download"
        }`,
      );
    }
  }

  /** Refuses the session up front when its files cannot fit on the disk. */
  async #checkSpace(decisions: readonly Decision[]): Promise<void> {
    let needed = 0;
    for (const [index, decision] of decisions.entries()) {
      const size = this.#state.entries.size(index);
      if (decision.action === "send") needed += size - decision.offset;
      if (decision.action === "compare" && decision.replace) needed += size;
    }
    const root = this.#state.store.root;
    if (needed === 0 || root === null) return;
    const disk = await statfs(root);
    const free = disk.bavail * disk.bsize;
    if (needed + SPACE_MARGIN > free) {
      throw new SessionRefusedError(
        `Not enough space on the ${ownEnd(this.#state.peer)}: the files need ${
          formatBytes(needed)
        } and ${formatBytes(Math.max(0, free - SPACE_MARGIN))} is free`,
      );
    }
  }
}

/**
 * Runs one client session over an established `channel`, writing into
 * `store`. A protocol violation is reported to the client, then rethrown;
 * partial files are never left under a final name.
 */
export async function receiveSession(
  channel: Channel,
  store: FileStore,
  options: SessionOptions,
): Promise<ReceiveResult> {
  try {
    return await new Session(channel, store, options).run();
  } catch (error) {
    if (
      !(error instanceof RemoteError) &&
      !(error instanceof ConnectionClosedError)
    ) {
      try {
        await send(channel, {
          type: "error",
          message: clipMessage(publicMessage(error)),
        });
        await channel.flush();
      } catch {
        // The client may already be gone; the error is still logged.
      }
    }
    throw error;
  }
}
