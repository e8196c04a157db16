/**
 * The server's side of a transfer session: takes the manifest and decides
 * on it ({@link ./receive_setup.ts}), writes the streamed data to staged
 * files and confirms each file by hash once it is durable under its name
 * ({@link ./commit.ts}).
 *
 * @module
 */

import { type Channel, ConnectionClosedError, type Frame } from "./channel.ts";
import {
  type ClientMessage,
  clipMessage,
  type Decision,
  type Entry,
  FrameType,
  ProtocolError,
  quote,
  sanitize,
} from "../protocol.ts";
import { commitGroup, saveFailure, type VerifiedFile } from "./commit.ts";
import { errorMessage, publicMessage, RemoteError } from "./errors.ts";
import { type EventSink, ProgressCounter } from "./events.ts";
import type { FileStore, PartialFile } from "./file_store.ts";
import { type Hash, newHash } from "./hash.ts";
import type { MemoryBudget, Reservation } from "./memory_budget.ts";
import { Pacer } from "./pace.ts";
import {
  controlMessage,
  decideAll,
  type ProofOutcome,
  receiveManifest,
  receiveProofs,
  send,
  sendDecisions,
  SessionRefusedError,
} from "./receive_setup.ts";
import { type PeerMeter, SetupClock } from "./setup_clock.ts";
import { releaseBuffer } from "./release.ts";
import { WriteBehind } from "./write_behind.ts";
import { formatBytes } from "./format.ts";
import { statfs } from "node:fs/promises";

export { SessionRefusedError };

/** Totals of one session, from the server's point of view. */
export interface ReceiveResult {
  /** Files written and verified, or already there with the same hash. */
  verified: number;
  /** Files refused or failed. */
  failed: number;
  /** File bytes received. */
  bytes: number;
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
}

/** Verified files put in place together, at most. */
const COMMIT_FILES = 256;

/** Bytes of verified files put in place together, at most. */
const COMMIT_BYTES = 64 * 1024 * 1024;

/** A pause of the client this long puts verified files in place. */
const COMMIT_PAUSE_MS = 10;

/** The slowest hashing a client's proofs are given time for: 32 MiB/s. */
const PROOF_BYTES_PER_MS = 32 * 1024 * 1024 / 1000;

/** Room left on the disk beyond the files, for folders and metadata. */
const SPACE_MARGIN = 1024 * 1024;

/** The file whose data is arriving. */
interface Incoming {
  index: number;
  /** Where the data goes; null once saving it failed on this side. */
  partial: PartialFile | null;
  /** Writes to `partial`. */
  writer: WriteBehind | null;
  /** Why saving failed, to report when the client ends the file. */
  failure: string | null;
  /** SHA-256 of the file so far; null when it could not even be opened. */
  hash: Hash | null;
  /** Bytes of the file this side has, from earlier sessions included. */
  received: number;
  /** Bytes of the file received in this session. */
  arrived: number;
}

/** One client session against a destination folder. */
class Session {
  #channel: Channel;
  #store: FileStore;
  #emit: EventSink;
  #options: SessionOptions;
  #entries: Entry[] = [];
  #decisions: Decision[] = [];
  /** Files the client must still send or skip. */
  #open = new Set<number>();
  /** Files whose kept data the client proved it shares. */
  #resumable = new Set<number>();
  #incoming: Incoming | null = null;
  /** Files verified by hash, waiting to be put in place together. */
  #verified: VerifiedFile[] = [];
  #verifiedBytes = 0;
  /** The group of verified files being put in place, if any. */
  #committing: Promise<void> = Promise.resolve();
  #result: ReceiveResult = { verified: 0, failed: 0, bytes: 0 };
  #progress: ProgressCounter | null = null;

  constructor(channel: Channel, store: FileStore, options: SessionOptions) {
    this.#channel = channel;
    this.#store = store;
    this.#options = options;
    this.#emit = (event) => {
      if (event.type === "file-start") {
        this.#progress?.start(event.path, event.offset);
      } else if (
        event.type === "file-verified" || event.type === "file-skipped" ||
        event.type === "file-failed"
      ) {
        this.#progress?.settle(event.path);
      }
      options.emit(event);
    };
  }

  async run(): Promise<ReceiveResult> {
    const reservation = this.#options.budget.reserve();
    try {
      const clock = new SetupClock(
        this.#options.meter,
        () => this.#channel.close(),
      );
      await clock.watch(() => this.#setUp(reservation, clock));
      await this.#receiveFiles();
      return this.#result;
    } catch (error) {
      // Files already verified are complete: they still go in place, even
      // if the client can no longer be told.
      await this.#committing.catch(() => {});
      await this.#commit().catch(() => {});
      const kept = await this.#keepIncoming();
      // One line tells both what went wrong and what is left to resume.
      if (kept !== null && error instanceof Error) error.message += `; ${kept}`;
      throw error;
    } finally {
      this.#store.release();
      reservation.release();
    }
  }

  /** Everything before the data: manifest, decisions, proofs. */
  async #setUp(reservation: Reservation, clock: SetupClock): Promise<void> {
    const { limits } = this.#options;
    this.#entries = await receiveManifest(
      this.#channel,
      limits.maxEntries,
      reservation,
    );
    this.#checkSize();
    const refusal = this.#store.refuseManifest(this.#entries);
    if (refusal !== null) throw new SessionRefusedError(refusal);
    this.#decisions = await decideAll(
      this.#channel,
      this.#store,
      this.#entries,
    );
    await this.#checkSpace();
    this.#progress = new ProgressCounter(this.#entries, this.#emit);
    for (const [index, decision] of this.#decisions.entries()) {
      const entry = this.#entries[index];
      if (decision.action === "refuse") {
        this.#result.failed++;
        this.#emit({
          type: "file-failed",
          path: entry.path,
          message: `refused: ${decision.reason}`,
        });
      } else if (entry.kind === "file") {
        this.#open.add(index);
      }
    }
    await sendDecisions(this.#channel, this.#decisions);
    const pacer = new Pacer();
    for (const [index, decision] of this.#decisions.entries()) {
      const entry = this.#entries[index];
      if (entry.kind === "folder" && decision.action === "accept") {
        this.#store.makeFolder(entry.path);
        await pacer.pace();
      }
    }
    // Hashing what it is to prove is the client's work, not a stall.
    clock.extend(this.#bytesToProve() / PROOF_BYTES_PER_MS);
    const proven = new Map<number, string>();
    const outcomes = await receiveProofs(
      this.#channel,
      this.#decisions,
      async (index, sha256) => {
        const same = await this.#store.prove(this.#entries[index], sha256);
        if (same) proven.set(index, sha256);
        return same;
      },
    );
    for (const [index, outcome] of outcomes) {
      this.#settleProof(index, outcome, proven.get(index));
    }
  }

  /** Bytes the client hashes for its proofs. */
  #bytesToProve(): number {
    let bytes = 0;
    for (const [index, decision] of this.#decisions.entries()) {
      if (decision.action === "compare") bytes += this.#entries[index].size;
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
    const entry = this.#entries[index];
    const decision = this.#decisions[index];
    if (outcome === "unreadable") {
      this.#close(index, "the client could not read it");
      return;
    }
    if (decision.action === "send") {
      if (outcome === "match") this.#resumable.add(index);
      return;
    }
    if (outcome === "match") {
      this.#open.delete(index);
      this.#result.verified++;
      this.#emit({
        type: "file-skipped",
        path: entry.path,
        reason: "already-there",
        sha256,
      });
    } else if (decision.action === "compare" && !decision.replace) {
      this.#close(index, "a different file with this name is already here");
    }
  }

  /** Settles an open file as failed for `message`. */
  #close(index: number, message: string): void {
    this.#open.delete(index);
    this.#result.failed++;
    this.#emit({
      type: "file-failed",
      path: this.#entries[index].path,
      message,
    });
  }

  #checkSize(): void {
    const total = this.#entries.reduce((sum, entry) => sum + entry.size, 0);
    if (total > this.#options.limits.maxBytes) {
      throw new SessionRefusedError(
        `The files total ${formatBytes(total)}, more than the ${
          formatBytes(this.#options.limits.maxBytes)
        } this server takes in one session (its --max-size)`,
      );
    }
  }

  /** Refuses the session up front when its files cannot fit on the disk. */
  async #checkSpace(): Promise<void> {
    let needed = 0;
    for (const [index, decision] of this.#decisions.entries()) {
      const entry = this.#entries[index];
      if (decision.action === "send") needed += entry.size - decision.offset;
      if (decision.action === "compare" && decision.replace) {
        needed += entry.size;
      }
    }
    const root = this.#store.root;
    if (needed === 0 || root === null) return;
    const disk = await statfs(root);
    const free = disk.bavail * disk.bsize;
    if (needed + SPACE_MARGIN > free) {
      throw new SessionRefusedError(
        `Not enough space on the server: the files need ${
          formatBytes(needed)
        } and ${formatBytes(Math.max(0, free - SPACE_MARGIN))} is free`,
      );
    }
  }

  /**
   * The next frame; verified files waiting to be put in place go in place
   * first when the client pauses, so that a client that waits for their
   * confirmation gets it.
   */
  async #nextFrame(): Promise<Frame | null> {
    // A timer per frame would cost more than the frame: when the next one
    // is already arriving, the client is not pausing.
    const arriving = this.#channel.hasBuffered();
    const next = this.#channel.receive();
    if (this.#verified.length === 0 || arriving) return await next;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const paused = new Promise<"paused">((resolve) => {
      timer = setTimeout(() => resolve("paused"), COMMIT_PAUSE_MS);
    });
    const first = await Promise.race([next, paused]);
    clearTimeout(timer);
    if (first !== "paused") return first;
    await this.#startCommit();
    await this.#committing;
    // The read already waits: nothing else would send the confirmations.
    await this.#channel.flush();
    return await next;
  }

  async #receiveFiles(): Promise<void> {
    for (;;) {
      const frame = await this.#nextFrame();
      if (frame === null) {
        const where = this.#incoming === null
          ? ""
          : ` in the middle of ${
            quote(this.#entries[this.#incoming.index].path)
          }`;
        throw new ProtocolError(`Client disconnected${where}`);
      }
      if (frame.type === FrameType.Data && this.#incoming !== null) {
        await this.#write(this.#incoming, frame);
        continue;
      }
      const message = controlMessage(frame);
      if (message.type === "done") {
        await this.#finish();
        return;
      }
      await this.#handle(message);
    }
  }

  /** Deletes what arrived of the file in flight: it is of no use. */
  async #dropIncoming(): Promise<void> {
    const incoming = this.#incoming;
    this.#incoming = null;
    if (incoming?.partial) {
      await incoming.writer?.abandon();
      await this.#store.discard(incoming.partial);
    }
  }

  /**
   * Keeps what arrived of the file in flight when the session ends early,
   * and says so: every byte of it came through an authenticated record,
   * and the next session resumes from it once the client proves its
   * prefix is the same.
   */
  async #keepIncoming(): Promise<string | null> {
    const incoming = this.#incoming;
    this.#incoming = null;
    if (incoming === null) return null;
    const entry = this.#entries[incoming.index];
    let kept: number | null = 0;
    if (incoming.partial) {
      try {
        await incoming.writer?.finish();
      } catch {
        // What did reach the disk is still a valid prefix.
      }
      kept = await this.#store.keep(incoming.partial).catch(() => 0);
    }
    if (kept === null) {
      // Written straight out, as on standard output: nothing to resume.
      return `${incoming.arrived} bytes of ${
        quote(entry.path)
      } were written out before it ended`;
    }
    return `kept ${kept} of ${entry.size} bytes of ${
      quote(entry.path)
    } to resume (${incoming.arrived} arrived in this session)`;
  }

  /**
   * Stops saving `incoming` after `error`, keeping what reached the disk
   * for a later session; the rest of its data is still read and hashed.
   */
  async #failSaving(incoming: Incoming, error: unknown): Promise<void> {
    incoming.failure = saveFailure(error);
    const partial = incoming.partial;
    incoming.partial = null;
    await incoming.writer?.abandon();
    incoming.writer = null;
    if (partial) await this.#store.keep(partial).catch(() => 0);
  }

  async #write(incoming: Incoming, frame: Frame): Promise<void> {
    const data = frame.payload;
    const entry = this.#entries[incoming.index];
    if (incoming.received + data.length > entry.size) {
      throw new ProtocolError(
        `Client sent more bytes than announced for ${quote(entry.path)}`,
      );
    }
    incoming.received += data.length;
    incoming.arrived += data.length;
    this.#result.bytes += data.length;
    this.#progress?.add(data.length);
    incoming.hash?.update(data);
    // After a local failure the rest of the file is read and dropped, so
    // that one unsavable file does not end the session.
    if (incoming.writer === null) {
      if (frame.detached) releaseBuffer(data);
      return;
    }
    try {
      await incoming.writer.write(data, frame.detached);
    } catch (error) {
      await this.#failSaving(incoming, error);
    }
  }

  /** Takes an index the client names, which must still await a file. */
  #claim(index: number, what: string): Entry {
    if (this.#incoming !== null) {
      throw new ProtocolError(
        `Client sent ${what} while ${
          quote(this.#entries[this.#incoming.index].path)
        } was unfinished`,
      );
    }
    if (!this.#open.has(index)) {
      throw new ProtocolError(
        `Client sent ${what} for entry ${index}, which is not an expected file`,
      );
    }
    this.#open.delete(index);
    return this.#entries[index];
  }

  async #startFile(index: number, offset: number): Promise<void> {
    const entry = this.#claim(index, "a file");
    const decision = this.#decisions[index];
    const resumable = decision.action === "send" && this.#resumable.has(index)
      ? decision.offset
      : 0;
    if (offset !== 0 && offset !== resumable) {
      throw new ProtocolError(
        `Client sent ${quote(entry.path)} from offset ${offset}, ${
          resumable === 0
            ? "the server offered only 0"
            : `the server offered 0 or ${resumable}`
        }`,
      );
    }
    let partial: PartialFile | null = null;
    let failure: string | null = null;
    try {
      partial = await this.#store.createPartial(entry, offset);
    } catch (error) {
      failure = saveFailure(error);
    }
    this.#incoming = {
      index,
      partial,
      writer: partial && new WriteBehind(partial.file, entry.size - offset),
      failure,
      hash: partial?.hash ?? (offset === 0 ? newHash() : null),
      received: offset,
      arrived: 0,
    };
    this.#emit({
      type: "file-start",
      path: entry.path,
      size: entry.size,
      offset,
    });
  }

  async #handle(message: ClientMessage): Promise<void> {
    switch (message.type) {
      case "file":
        return await this.#startFile(message.index, message.offset);
      case "end":
        return await this.#end(message.index, message.sha256);
      case "abort": {
        const incoming = this.#incoming;
        if (incoming === null || incoming.index !== message.index) {
          throw new ProtocolError(
            `Client aborted entry ${message.index}, which is not being sent`,
          );
        }
        await this.#dropIncoming();
        this.#result.failed++;
        this.#emit({
          type: "file-failed",
          path: this.#entries[incoming.index].path,
          message: `client gave up: ${sanitize(message.message)}`,
        });
        return;
      }
      case "skip": {
        const entry = this.#claim(message.index, "a skip");
        this.#result.failed++;
        this.#emit({
          type: "file-failed",
          path: entry.path,
          message: "the client could not read it",
        });
        return;
      }
      case "wait":
        return;
      case "manifest":
        throw new ProtocolError("Client sent a second manifest");
      default:
        throw new ProtocolError(`Client sent ${message.type} out of order`);
    }
  }

  async #end(index: number, claimed: string): Promise<void> {
    const incoming = this.#incoming;
    if (incoming === null || incoming.index !== index) {
      throw new ProtocolError(
        `Client ended entry ${index}, which is not being sent`,
      );
    }
    const entry = this.#entries[index];
    if (incoming.received !== entry.size) {
      throw new ProtocolError(
        `Client sent ${incoming.received} bytes for ${
          quote(entry.path)
        }, fewer than the ${entry.size} announced`,
      );
    }
    // Without a hash the file failed to open, and fails below anyway.
    const sha256 = incoming.hash?.digest("hex") ?? claimed;
    if (sha256 !== claimed) {
      await this.#dropIncoming();
      throw new ProtocolError(
        `Hash mismatch for ${
          quote(entry.path)
        }: received data hashes to ${sha256}, client announced ${claimed}`,
      );
    }
    try {
      await incoming.writer?.finish();
    } catch (error) {
      await this.#failSaving(incoming, error);
    }
    this.#incoming = null;
    this.#verified.push({
      index,
      sha256,
      partial: incoming.partial,
      failure: incoming.failure,
    });
    this.#verifiedBytes += entry.size;
    if (
      this.#verified.length >= COMMIT_FILES ||
      this.#verifiedBytes >= COMMIT_BYTES
    ) {
      await this.#startCommit();
    }
  }

  /**
   * Commits the files verified so far in the background, once the group
   * before them is done, so that receiving goes on meanwhile; a failure
   * shows at the next wait for it.
   */
  async #startCommit(): Promise<void> {
    await this.#committing;
    if (this.#verified.length === 0) return;
    // Flushed at once: the reader may already be waiting for the client.
    this.#committing = this.#commit().then(() => this.#channel.flush());
    this.#committing.catch(() => {});
  }

  /** Puts the files verified so far in place and confirms each. */
  async #commit(): Promise<void> {
    const group = this.#verified;
    this.#verified = [];
    this.#verifiedBytes = 0;
    await commitGroup(
      group,
      this.#entries,
      this.#store,
      this.#channel,
      this.#emit,
      this.#result,
    );
  }

  async #finish(): Promise<void> {
    if (this.#incoming !== null) {
      throw new ProtocolError(
        `Client finished while ${
          quote(this.#entries[this.#incoming.index].path)
        } was unfinished`,
      );
    }
    if (this.#open.size > 0) {
      throw new ProtocolError(
        `Client finished without sending ${this.#open.size} expected files`,
      );
    }
    await this.#startCommit();
    await this.#committing;
    // Deepest first, so that a read-only folder is locked only once its
    // contents are written.
    const folders = this.#entries
      .filter((entry, i) =>
        entry.kind === "folder" && this.#decisions[i].action === "accept"
      )
      .sort((a, b) => b.path.length - a.path.length);
    const pacer = new Pacer();
    for (const folder of folders) {
      try {
        await this.#store.finishFolder(folder);
      } catch (error) {
        this.#emit({
          type: "warning",
          message: `Cannot set the mode or time of ${quote(folder.path)}: ${
            errorMessage(error)
          }`,
        });
      }
      await pacer.pace();
    }
    await send(this.#channel, {
      type: "summary",
      verified: this.#result.verified,
      failed: this.#result.failed,
    });
    await this.#channel.flush();
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
