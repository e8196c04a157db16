/**
 * The server's side of a transfer session: validates the manifest, answers
 * it with one decision per entry, writes the streamed data to temporary
 * files and confirms each file by hash once it is durable under its name.
 *
 * @module
 */

import {
  type Channel,
  ConnectionClosedError,
  type Frame,
  whileBusy,
} from "./channel.ts";
import {
  checkManifest,
  type ClientMessage,
  clipMessage,
  type Decision,
  decodeClientMessage,
  encodeMessage,
  type Entry,
  FrameType,
  MAX_ENTRIES,
  MAX_FRAME_PAYLOAD,
  MAX_MANIFEST_BYTES,
  ProtocolError,
  quote,
  sanitize,
  type ServerMessage,
} from "../protocol.ts";
import type { FileStore, PartialFile } from "./file_store.ts";
import { errorMessage, publicMessage, RemoteError } from "./errors.ts";
import { type EventSink, ProgressCounter } from "./events.ts";
import { type Hash, newHash } from "./hash.ts";
import { releaseBuffer } from "./release.ts";
import { WriteBehind } from "./write_behind.ts";
import { formatBytes } from "./format.ts";
import { statfs } from "node:fs/promises";

/** Totals of one session, from the server's point of view. */
export interface ReceiveResult {
  /** Files written and verified, or already there with the same hash. */
  verified: number;
  /** Files refused or failed. */
  failed: number;
  /** File bytes received. */
  bytes: number;
}

const DECISIONS_CHUNK_BUDGET = MAX_FRAME_PAYLOAD / 2;

function send(channel: Channel, message: ServerMessage): Promise<void> {
  return channel.send(FrameType.Control, encodeMessage(message));
}

function controlMessage(frame: Frame): ClientMessage {
  if (frame.type !== FrameType.Control) {
    throw new ProtocolError("Client sent file data outside a file");
  }
  const message = decodeClientMessage(frame.payload);
  if (message.type === "error") {
    throw new RemoteError(`Client error: ${sanitize(message.message)}`);
  }
  return message;
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
}

/** Raised when the server turns a whole session down, before any data. */
export class SessionRefusedError extends Error {
  /** Creates the error with a one-line message the client also sees. */
  constructor(message: string) {
    super(message);
    this.name = "SessionRefusedError";
  }
}

/** Verified files put in place together, at most. */
const COMMIT_FILES = 256;

/** Bytes of verified files put in place together, at most. */
const COMMIT_BYTES = 64 * 1024 * 1024;

/** A pause of the client this long puts verified files in place. */
const COMMIT_PAUSE_MS = 10;

/** Files flushed to disk at the same time. */
const SEAL_PARALLEL = 32;

/** Room left on the disk beyond the files, for folders and metadata. */
const SPACE_MARGIN = 1024 * 1024;

async function receiveManifest(
  channel: Channel,
  maxEntries: number,
): Promise<Entry[]> {
  const entries: Entry[] = [];
  let manifestBytes = 0;
  for (;;) {
    const frame = await channel.receive();
    if (frame === null) {
      throw new ProtocolError("Client disconnected before sending a manifest");
    }
    const message = controlMessage(frame);
    if (message.type !== "manifest") {
      throw new ProtocolError(
        `Client sent a ${message.type} message before its manifest`,
      );
    }
    if (entries.length + message.entries.length > MAX_ENTRIES) {
      throw new ProtocolError(
        `Manifest has more than ${MAX_ENTRIES} entries`,
      );
    }
    if (entries.length + message.entries.length > maxEntries) {
      throw new SessionRefusedError(
        `The manifest has more than the ${maxEntries} entries this server takes in one session (its --max-entries)`,
      );
    }
    manifestBytes += frame.payload.length;
    if (manifestBytes > MAX_MANIFEST_BYTES) {
      throw new ProtocolError(
        `Manifest is larger than ${MAX_MANIFEST_BYTES} bytes`,
      );
    }
    if (message.more && message.entries.length === 0) {
      throw new ProtocolError("Manifest part with no entries and more to come");
    }
    entries.push(...message.entries);
    if (!message.more) break;
  }
  checkManifest(entries);
  return entries;
}

async function sendDecisions(
  channel: Channel,
  decisions: readonly Decision[],
): Promise<void> {
  let start = 0;
  let budget = 0;
  for (let i = 0; i < decisions.length; i++) {
    const decision = decisions[i];
    const cost = decision.action === "refuse"
      ? 3 * decision.reason.length + 64
      : 128;
    if (budget + cost > DECISIONS_CHUNK_BUDGET) {
      const items = decisions.slice(start, i);
      await send(channel, { type: "decisions", start, items, more: true });
      start = i;
      budget = 0;
    }
    budget += cost;
  }
  const items = decisions.slice(start);
  await send(channel, { type: "decisions", start, items, more: false });
  await channel.flush();
}

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

/** The cause of a local failure to save, fit for the client to read. */
function saveFailure(error: unknown): string {
  return clipMessage(`cannot save: ${publicMessage(error)}`);
}

/** One client session against a destination folder. */
class Session {
  #channel: Channel;
  #destination: FileStore;
  #emit: EventSink;
  #limits: SessionLimits;
  #entries: Entry[] = [];
  #decisions: Decision[] = [];
  #open = new Set<number>();
  #incoming: Incoming | null = null;
  /** Files verified by hash, waiting to be put in place together. */
  #verified: { index: number; sha256: string; incoming: Incoming }[] = [];
  #verifiedBytes = 0;
  /** The group of verified files being put in place, if any. */
  #committing: Promise<void> = Promise.resolve();
  #result: ReceiveResult = { verified: 0, failed: 0, bytes: 0 };
  #progress: ProgressCounter | null = null;

  constructor(
    channel: Channel,
    destination: FileStore,
    { emit, limits }: SessionOptions,
  ) {
    this.#channel = channel;
    this.#destination = destination;
    this.#emit = (event) => {
      if (event.type === "file-start") {
        this.#progress?.start(event.path, event.offset);
      } else if (
        event.type === "file-verified" || event.type === "file-skipped" ||
        event.type === "file-failed"
      ) {
        this.#progress?.settle(event.path);
      }
      emit(event);
    };
    this.#limits = limits;
  }

  async run(): Promise<ReceiveResult> {
    try {
      this.#entries = await receiveManifest(
        this.#channel,
        this.#limits.maxEntries,
      );
      this.#checkSize();
      const refusal = this.#destination.refuseManifest(this.#entries);
      if (refusal !== null) throw new SessionRefusedError(refusal);
      await this.#decide();
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
      this.#destination.release();
    }
  }

  #checkSize(): void {
    const total = this.#entries.reduce((sum, entry) => sum + entry.size, 0);
    if (total > this.#limits.maxBytes) {
      throw new SessionRefusedError(
        `The files total ${formatBytes(total)}, more than the ${
          formatBytes(this.#limits.maxBytes)
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
    const root = this.#destination.root;
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

  async #decide(): Promise<void> {
    // Hashing kept data or existing files can take a while.
    await whileBusy(this.#channel, async () => {
      for (const entry of this.#entries) {
        this.#decisions.push(await this.#destination.decide(entry));
      }
    });
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
    for (const [index, decision] of this.#decisions.entries()) {
      const entry = this.#entries[index];
      if (entry.kind === "folder" && decision.action === "accept") {
        this.#destination.makeFolder(entry.path);
      }
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
      await this.#destination.discard(incoming.partial);
    }
  }

  /**
   * Keeps what arrived of the file in flight when the session ends early,
   * and says so: every byte of it came through an authenticated record,
   * and the next session resumes from it once the client's prefix hashes
   * the same.
   */
  async #keepIncoming(): Promise<string | null> {
    const incoming = this.#incoming;
    this.#incoming = null;
    if (incoming === null) return null;
    if (this.#destination.root === null) {
      // Written straight out, as on standard output: nothing to resume.
      return `${incoming.arrived} bytes of ${
        quote(this.#entries[incoming.index].path)
      } were written out before it ended`;
    }
    let kept = 0;
    if (incoming.partial) {
      try {
        await incoming.writer?.finish();
      } catch {
        // What did reach the disk is still a valid prefix.
      }
      this.#destination.keep(incoming.partial);
      kept = (await Deno.stat(incoming.partial.path).catch(() => null))
        ?.size ?? 0;
      // Nothing to resume from: leave no empty file behind.
      if (kept === 0) await this.#destination.discard(incoming.partial);
    }
    const entry = this.#entries[incoming.index];
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
    if (partial) this.#destination.keep(partial);
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

  async #handle(message: ClientMessage): Promise<void> {
    switch (message.type) {
      case "file": {
        const entry = this.#claim(message.index, "a file");
        const decision = this.#decisions[message.index];
        if (decision.action === "compare" && !decision.replace) {
          throw new ProtocolError(
            `Client sent ${
              quote(entry.path)
            }, which the server refused to replace`,
          );
        }
        const offered = decision.action === "send" ? decision.offset : 0;
        if (message.offset !== 0 && message.offset !== offered) {
          throw new ProtocolError(
            `Client sent ${
              quote(entry.path)
            } from offset ${message.offset}, the server offered 0 or ${offered}`,
          );
        }
        let partial: PartialFile | null = null;
        let failure: string | null = null;
        try {
          partial = await this.#destination.createPartial(
            entry,
            message.offset,
          );
        } catch (error) {
          failure = saveFailure(error);
        }
        this.#incoming = {
          index: message.index,
          partial,
          writer: partial &&
            new WriteBehind(partial.file, entry.size - message.offset),
          failure,
          hash: partial?.hash ?? (message.offset === 0 ? newHash() : null),
          received: message.offset,
          arrived: 0,
        };
        this.#emit({
          type: "file-start",
          path: entry.path,
          size: entry.size,
          offset: message.offset,
        });
        return;
      }
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
        const decision = this.#decisions[message.index];
        if (message.reason !== "unreadable" && decision.action !== "compare") {
          throw new ProtocolError(
            `Client skipped ${
              quote(entry.path)
            } as ${message.reason}, but the server had no file to compare`,
          );
        }
        if (message.reason === "same" && decision.action === "compare") {
          this.#result.verified++;
          this.#emit({
            type: "file-skipped",
            path: entry.path,
            reason: "already-there",
            sha256: decision.sha256,
          });
          return;
        }
        this.#result.failed++;
        this.#emit({
          type: "file-failed",
          path: entry.path,
          message: message.reason === "conflict"
            ? "a different file with this name is already here"
            : "the client could not read it",
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
    this.#verified.push({ index, sha256, incoming });
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

  /**
   * Puts the verified files under their final names and confirms each to
   * the client. Many small files are flushed to disk together and each
   * folder is synced once, instead of two syncs per file.
   */
  async #commit(): Promise<void> {
    const group = this.#verified;
    this.#verified = [];
    this.#verifiedBytes = 0;
    const failures = new Map<number, string>();
    for (let at = 0; at < group.length; at += SEAL_PARALLEL) {
      await Promise.all(
        group.slice(at, at + SEAL_PARALLEL).map(async ({ index, incoming }) => {
          if (incoming.partial === null) return;
          try {
            await this.#destination.seal(incoming.partial);
          } catch (error) {
            failures.set(index, saveFailure(error));
          }
        }),
      );
    }
    const folders: string[] = [];
    const checked = new Set<string>();
    for (const { index, incoming } of group) {
      const failure = failures.get(index) ?? incoming.failure;
      if (failure !== null) {
        failures.set(index, failure);
        if (incoming.partial) await this.#destination.discard(incoming.partial);
        continue;
      }
      try {
        const folder = this.#destination.install(incoming.partial!, checked);
        if (folder !== null) folders.push(folder);
      } catch (error) {
        await this.#destination.discard(incoming.partial!);
        failures.set(index, saveFailure(error));
      }
    }
    try {
      await this.#destination.syncFolders(folders);
    } catch (error) {
      // The files are in place; only their durability is in doubt.
      for (const { index } of group) {
        if (!failures.has(index)) failures.set(index, saveFailure(error));
      }
    }
    for (const { index, sha256 } of group) {
      const entry = this.#entries[index];
      const message = failures.get(index);
      if (message !== undefined) {
        this.#result.failed++;
        this.#emit({ type: "file-failed", path: entry.path, message });
        await send(this.#channel, { type: "failed", index, message });
        continue;
      }
      this.#result.verified++;
      this.#emit({
        type: "file-verified",
        path: entry.path,
        size: entry.size,
        sha256,
      });
      await send(this.#channel, { type: "verified", index, sha256 });
    }
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
    for (const folder of folders) {
      try {
        await this.#destination.finishFolder(folder);
      } catch (error) {
        this.#emit({
          type: "warning",
          message: `Cannot set the mode or time of ${quote(folder.path)}: ${
            errorMessage(error)
          }`,
        });
      }
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
 * `destination`. A protocol violation is reported to the client, then
 * rethrown; partial files are never left under a final name.
 */
export async function receiveSession(
  channel: Channel,
  destination: FileStore,
  options: SessionOptions,
): Promise<ReceiveResult> {
  try {
    return await new Session(channel, destination, options).run();
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
