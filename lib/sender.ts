/**
 * The client's side of a transfer session: offers a manifest, reads the
 * server's decisions, streams file data back to back and collects the
 * server's hash confirmations as they arrive.
 *
 * @module
 */

import { type Channel, ConnectionClosedError, whileBusy } from "./channel.ts";
import {
  type ClientMessage,
  clipMessage,
  DATA_CHUNK_SIZE,
  DATA_FRAME_SIZE,
  type Decision,
  decodeServerMessage,
  encodeMessage,
  FrameType,
  MAX_FRAME_PAYLOAD,
  ProtocolError,
  quote,
  sanitize,
  type ServerMessage,
} from "../protocol.ts";
import { fileErrorReason, RemoteError } from "./errors.ts";
import { type EventSink, ProgressCounter } from "./events.ts";
import { hashFile, hashPrefix, newHash, peekDigest } from "./hash.ts";
import { fileIdentity, type LocalEntry } from "./scan.ts";

/** Totals of one session, from the client's point of view. */
export interface SendResult {
  /** Files the server confirmed by hash after receiving them. */
  verified: number;
  /** Files the server already had with the same hash. */
  skipped: number;
  /** Files and folders that were refused or failed. */
  failed: number;
  /** File bytes sent. */
  bytes: number;
}

/**
 * One run of the client over its entries, across reconnections. It counts
 * what became of each entry from the events it passes on, and remembers
 * the hashes the server confirmed, so that a new attempt neither reads
 * confirmed files again nor counts them twice.
 */
export class SendRun {
  /** The entries, as scanned. */
  readonly entries: readonly LocalEntry[];
  #sink: EventSink;
  #indexes = new Map<string, number>();
  #outcomes = new Map<number, "verified" | "skipped" | "failed">();
  #confirmed = new Map<number, string>();
  #settled = 0;
  #bytes = 0;
  #progress: ProgressCounter;

  /** A run over `entries` that reports to `sink`. */
  constructor(entries: readonly LocalEntry[], sink: EventSink) {
    this.entries = entries;
    this.#sink = sink;
    this.#progress = new ProgressCounter(entries, sink);
    for (const [index, entry] of entries.entries()) {
      this.#indexes.set(entry.path, index);
    }
  }

  /** Grows whenever an attempt gets anywhere: bytes sent, files settled. */
  get progress(): number {
    return this.#bytes + this.#settled;
  }

  /** Counts `count` more file bytes sent. */
  addBytes(count: number): void {
    this.#bytes += count;
    this.#progress.add(count);
  }

  /**
   * The hash the server confirmed for entry `index` earlier in this run,
   * if the file still looks the same.
   */
  async confirmedHash(index: number): Promise<string | undefined> {
    const sha256 = this.#confirmed.get(index);
    if (sha256 === undefined) return undefined;
    const entry = this.entries[index];
    const info = await Deno.stat(entry.source).catch(() => null);
    const same = info !== null && info.size === entry.size &&
      Math.trunc(info.mtime?.getTime() ?? NaN) === entry.mtime;
    return same ? sha256 : undefined;
  }

  /** Records what an event says of its entry and passes it on. */
  readonly emit: EventSink = (event) => {
    const index = "path" in event ? this.#indexes.get(event.path) : undefined;
    if (index !== undefined) {
      if (event.type === "file-start") {
        this.#progress.start(event.path, event.offset);
      } else if (event.type === "file-verified") {
        this.#confirmed.set(index, event.sha256);
        this.#settle(index, "verified");
      } else if (event.type === "file-skipped") {
        // Sent by an earlier attempt of this run: already reported.
        if (this.#outcomes.get(index) === "verified") return;
        this.#settle(index, "skipped");
      } else if (event.type === "file-failed") {
        this.#settle(index, "failed");
      }
    }
    this.#sink(event);
  };

  /** Entries the server could not take yet, with its reason, by index. */
  readonly deferred = new Map<number, string>();

  /** Leaves entry `index` for a later attempt, for `reason`. */
  defer(index: number, reason: string): void {
    this.deferred.set(index, reason);
  }

  /** Reports every entry still deferred as failed, when no retry is left. */
  failDeferred(): void {
    for (const [index, reason] of this.deferred) {
      this.emit({
        type: "file-failed",
        path: this.entries[index].path,
        message: `refused by the server: ${reason}`,
      });
    }
    this.deferred.clear();
  }

  /** The totals of the run, each entry counted once, as it ended. */
  result(): SendResult {
    const totals = { verified: 0, skipped: 0, failed: 0 };
    for (const outcome of this.#outcomes.values()) totals[outcome]++;
    return { ...totals, bytes: this.#bytes };
  }

  #settle(index: number, outcome: "verified" | "skipped" | "failed"): void {
    this.#progress.settle(this.entries[index].path);
    this.#outcomes.set(index, outcome);
    this.#settled++;
  }
}

// JSON of one entry is at most 3 UTF-8 bytes per UTF-16 unit; keep each
// manifest frame well below the frame limit.
const MANIFEST_CHUNK_BUDGET = MAX_FRAME_PAYLOAD / 2;

function send(channel: Channel, message: ClientMessage): Promise<void> {
  return channel.send(FrameType.Control, encodeMessage(message));
}

async function receiveMessage(
  channel: Channel,
  waitingFor: string,
): Promise<ServerMessage> {
  for (;;) {
    const message = await receiveAny(channel, waitingFor);
    // The server is busy hashing: it said so to keep the line alive.
    if (message.type !== "wait") return message;
  }
}

async function receiveAny(
  channel: Channel,
  waitingFor: string,
): Promise<ServerMessage> {
  const frame = await channel.receive();
  if (frame === null) {
    throw new ConnectionClosedError(
      `Server closed the connection while the client waited for ${waitingFor}`,
    );
  }
  if (frame.type !== FrameType.Control) {
    throw new ProtocolError("Server sent a data frame");
  }
  const message = decodeServerMessage(frame.payload);
  if (message.type === "error") {
    throw new RemoteError(`Server error: ${sanitize(message.message)}`);
  }
  return message;
}

async function sendManifest(
  channel: Channel,
  entries: readonly LocalEntry[],
): Promise<void> {
  let chunk: LocalEntry[] = [];
  let budget = 0;
  const flushChunk = (more: boolean) =>
    send(channel, {
      type: "manifest",
      more,
      entries: chunk.map(({ path, kind, size, mode, mtime }) => ({
        path,
        kind,
        size,
        mode,
        mtime,
      })),
    });
  for (const entry of entries) {
    const cost = 3 * entry.path.length + 100;
    if (budget + cost > MANIFEST_CHUNK_BUDGET) {
      await flushChunk(true);
      chunk = [];
      budget = 0;
    }
    chunk.push(entry);
    budget += cost;
  }
  await flushChunk(false);
  await channel.flush();
}

async function receiveDecisions(
  channel: Channel,
  count: number,
): Promise<Decision[]> {
  const decisions: Decision[] = [];
  for (;;) {
    const message = await receiveMessage(channel, "the server's decisions");
    if (message.type !== "decisions") {
      throw new ProtocolError(
        `Server sent a ${message.type} message instead of decisions`,
      );
    }
    if (message.start !== decisions.length) {
      throw new ProtocolError("Server sent decisions out of order");
    }
    decisions.push(...message.items);
    if (decisions.length > count) {
      throw new ProtocolError("Server sent more decisions than entries");
    }
    if (message.more && message.items.length === 0) {
      throw new ProtocolError("Server sent empty decisions with more to come");
    }
    if (!message.more) break;
  }
  if (decisions.length !== count) {
    throw new ProtocolError("Server sent fewer decisions than entries");
  }
  return decisions;
}

/** Tracks the files sent and waits for the server's word on each. */
class Confirmations {
  #pending = new Map<number, { entry: LocalEntry; sha256: string }>();
  #entries: readonly LocalEntry[];
  #emit: EventSink;

  constructor(entries: readonly LocalEntry[], emit: EventSink) {
    this.#entries = entries;
    this.#emit = emit;
  }

  expect(index: number, sha256: string): void {
    this.#pending.set(index, { entry: this.#entries[index], sha256 });
  }

  /** Handles messages until the server's summary; rejects on errors. */
  async run(channel: Channel): Promise<void> {
    for (;;) {
      const message = await receiveMessage(channel, "confirmations");
      switch (message.type) {
        case "verified": {
          const sent = this.#take(message.index);
          if (message.sha256 !== sent.sha256) {
            this.#emit({
              type: "file-failed",
              path: sent.entry.path,
              message:
                `server's hash ${message.sha256} differs from the sent file's ${sent.sha256}`,
            });
          } else {
            this.#emit({
              type: "file-verified",
              path: sent.entry.path,
              size: sent.entry.size,
              sha256: message.sha256,
            });
          }
          break;
        }
        case "failed": {
          const sent = this.#take(message.index);
          this.#emit({
            type: "file-failed",
            path: sent.entry.path,
            message: `server: ${sanitize(message.message)}`,
          });
          break;
        }
        case "summary":
          if (this.#pending.size > 0) {
            throw new ProtocolError(
              `Server ended the session without confirming ${this.#pending.size} files`,
            );
          }
          return;
        default:
          throw new ProtocolError(
            `Server sent an unexpected ${message.type} message`,
          );
      }
    }
  }

  #take(index: number): { entry: LocalEntry; sha256: string } {
    const sent = this.#pending.get(index);
    if (sent === undefined) {
      throw new ProtocolError(
        `Server confirmed file ${index}, which is not awaiting confirmation`,
      );
    }
    this.#pending.delete(index);
    return sent;
  }
}

/** Raised when a source file changes while it is being read. */
class SourceChangedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SourceChangedError";
  }
}

/** What {@link streamFile} needs besides a progress callback. */
interface FileStream {
  channel: Channel;
  entry: LocalEntry;
  /** What the server kept of the file from an interrupted session. */
  kept: { offset: number; sha256: string } | null;
  /** Two read buffers, used in turn. */
  buffers: readonly [Uint8Array, Uint8Array];
  /** Announces the file from `offset`, once the file is known readable. */
  start: (offset: number) => Promise<void>;
}

/**
 * Streams one file as data frames and returns its SHA-256: from where the
 * server's kept data ends when the first bytes of the file hash the same,
 * from 0 otherwise. The next chunk is read from disk while the current one
 * is hashed, sealed and sent. Throws {@link SourceChangedError} when the
 * file is not what was scanned.
 */
async function streamFile(
  { channel, entry, kept, buffers, start }: FileStream,
  onBytes: (count: number) => void,
): Promise<string> {
  // Opening follows links and blocks on a FIFO: check what is there now
  // is still the regular file that was scanned.
  // Synchronous calls: with thousands of small files, a hand-off to a
  // worker thread per call cost more than the calls themselves.
  if (!Deno.lstatSync(entry.source).isFile) {
    throw new SourceChangedError("it is no longer a regular file");
  }
  using file = Deno.openSync(entry.source, { read: true });
  if (fileIdentity(file.statSync()) !== entry.identity) {
    throw new SourceChangedError("it was replaced by another file");
  }
  let hash = newHash();
  let offset = 0;
  if (kept !== null) {
    const prefix = await whileBusy(
      channel,
      () => hashPrefix(file, kept.offset),
    );
    if (prefix !== null && peekDigest(prefix) === kept.sha256) {
      hash = prefix;
      offset = kept.offset;
    } else {
      await file.seek(0, Deno.SeekMode.Start);
    }
  }
  await start(offset);
  let unread = entry.size - offset;
  let turn = 0;
  // A file that fits one chunk is read at once; larger ones are read
  // ahead on a worker thread while the current chunk is sealed.
  const small = unread <= buffers[0].length;
  const readNext = () => {
    const target = buffers[turn].subarray(
      0,
      Math.min(buffers[turn].length, unread),
    );
    return small ? Promise.resolve(file.readSync(target)) : file.read(target);
  };
  let reading = unread > 0 ? readNext() : null;
  try {
    while (reading !== null) {
      const count = await reading;
      if (count === null) {
        throw new SourceChangedError("it shrank while being sent");
      }
      const chunk = buffers[turn].subarray(0, count);
      unread -= count;
      turn ^= 1;
      reading = unread > 0 ? readNext() : null;
      hash.update(chunk);
      for (let at = 0; at < count; at += DATA_FRAME_SIZE) {
        const end = Math.min(at + DATA_FRAME_SIZE, count);
        await channel.send(FrameType.Data, chunk.subarray(at, end));
      }
      onBytes(count);
    }
  } finally {
    // The file closes on the way out; a read still running must end first.
    await reading?.catch(() => null);
  }
  const after = file.statSync();
  if (
    after.size !== entry.size ||
    Math.trunc(after.mtime?.getTime() ?? entry.mtime) !== entry.mtime
  ) {
    throw new SourceChangedError("it changed while being sent");
  }
  return hash.digest("hex");
}

/**
 * Runs one attempt of `run` over an established `channel`: sends what the
 * server does not have yet, resuming files it kept, and reports each
 * outcome through the run.
 */
export async function sendEntries(
  channel: Channel,
  run: SendRun,
): Promise<SendResult> {
  const { entries, emit } = run;
  run.deferred.clear();
  await sendManifest(channel, entries);
  const decisions = await receiveDecisions(channel, entries.length);
  const confirmations = new Confirmations(entries, emit);
  const reading = confirmations.run(channel);
  // If the server fails the session, stop sending at once.
  const readingFailed = reading.catch((error) => {
    channel.close();
    throw error;
  });
  // Awaited below; handled now so that a failure while the sending loop is
  // busy elsewhere is not reported as unhandled.
  readingFailed.catch(() => {});
  const buffers = [
    new Uint8Array(DATA_CHUNK_SIZE),
    new Uint8Array(DATA_CHUNK_SIZE),
  ] as const;
  try {
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index];
      const decision = decisions[index];
      if (decision.action === "refuse") {
        if (decision.later) {
          // Possibly this client's own earlier connection, not yet timed
          // out on the server: try again after this attempt.
          run.defer(index, sanitize(decision.reason));
          continue;
        }
        emit({
          type: "file-failed",
          path: entry.path,
          message: `refused by the server: ${sanitize(decision.reason)}`,
        });
        continue;
      }
      if (entry.kind === "folder") {
        if (decision.action !== "accept") {
          throw new ProtocolError(
            `Server answered ${decision.action} for folder ${
              quote(entry.path)
            }`,
          );
        }
        continue;
      }
      if (decision.action === "accept") {
        throw new ProtocolError(
          `Server answered accept for file ${quote(entry.path)}`,
        );
      }
      if (decision.action === "compare") {
        let local: string;
        try {
          local = await run.confirmedHash(index) ??
            await whileBusy(channel, () => hashFile(entry.source));
        } catch (error) {
          emit({
            type: "file-failed",
            path: entry.path,
            message: `cannot read: ${fileErrorReason(error)}`,
          });
          await send(channel, { type: "skip", index, reason: "unreadable" });
          continue;
        }
        if (local === decision.sha256) {
          emit({
            type: "file-skipped",
            path: entry.path,
            reason: "already-there",
            sha256: local,
          });
          await send(channel, { type: "skip", index, reason: "same" });
          continue;
        }
        if (!decision.replace) {
          emit({
            type: "file-failed",
            path: entry.path,
            message:
              "a different file with this name is on the server (start the server with --overwrite to replace it)",
          });
          await send(channel, { type: "skip", index, reason: "conflict" });
          continue;
        }
      } else if (decision.offset > entry.size) {
        throw new ProtocolError(
          `Server offered to resume ${
            quote(entry.path)
          } from offset ${decision.offset}, beyond its size`,
        );
      }
      const kept = decision.action === "send" && decision.offset > 0
        ? { offset: decision.offset, sha256: decision.sha256! }
        : null;
      let started = false;
      const start = async (offset: number) => {
        started = true;
        emit({
          type: "file-start",
          path: entry.path,
          size: entry.size,
          offset,
        });
        await send(channel, { type: "file", index, offset });
      };
      try {
        const sha256 = await streamFile(
          { channel, entry, kept, buffers, start },
          (count) => {
            run.addBytes(count);
          },
        );
        confirmations.expect(index, sha256);
        await send(channel, { type: "end", index, sha256 });
      } catch (error) {
        if (
          !(error instanceof SourceChangedError) &&
          !(error instanceof Deno.errors.NotFound) &&
          !(error instanceof Deno.errors.PermissionDenied)
        ) throw error;
        const message = clipMessage(
          `cannot send ${quote(entry.path)}: ${fileErrorReason(error)}`,
        );
        emit({ type: "file-failed", path: entry.path, message });
        await send(
          channel,
          started
            ? { type: "abort", index, message }
            : { type: "skip", index, reason: "unreadable" },
        );
      }
    }
    await send(channel, { type: "done" });
    await channel.flush();
  } catch (error) {
    channel.close();
    const readerError = await readingFailed.then(() => null, (e) => e);
    // The server's own word explains a broken write better than the write,
    // and a write cut off by closing the channel has the reader's cause.
    if (readerError instanceof RemoteError) throw readerError;
    if (readerError instanceof ProtocolError) throw readerError;
    if (
      readerError &&
      (error instanceof Deno.errors.BadResource ||
        error instanceof Deno.errors.Interrupted)
    ) {
      throw readerError;
    }
    throw error;
  }
  await readingFailed;
  return run.result();
}
