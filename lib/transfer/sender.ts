/**
 * The client's side of a transfer session: offers a manifest and reads the
 * server's decisions (`send_setup.ts`), exchanges proofs
 * (`send_proofs.ts`), streams file data back to back and collects the
 * server's hash confirmations as they arrive (`confirmations.ts`).
 *
 * @module
 */

import type { Channel } from "../secure/channel.ts";
import {
  DATA_CHUNK_SIZE,
  DATA_FRAME_SIZE,
  FrameType,
} from "../protocol/constants.ts";
import { releaseBuffer } from "../common/release.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { clipMessage, quote, sanitize } from "../protocol/text.ts";
import { fileErrorReason, RemoteError } from "../common/errors.ts";
import { type Hash, newHash } from "../store/hash.ts";
import { Compressor, type PackedRecord } from "./compression.ts";
import { Confirmations } from "./confirmations.ts";
import { exchangeProofs } from "./send_proofs.ts";
import { fileIdentity, type LocalEntry } from "../store/scan.ts";
import { lower, type PeerName } from "./peer.ts";
import type { SendResult, SendRun } from "./send_run.ts";
import {
  checkDecisions,
  receiveDecisions,
  receiveMessage,
  send,
  sendManifest,
} from "./send_setup.ts";

/** Raised when a source file changes while it is being read. */
class SourceChangedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SourceChangedError";
  }
}

/** A chunk's records on their way: some may still be compressed. */
interface PendingChunk {
  records: (PackedRecord | Promise<PackedRecord>)[];
  /** File bytes in them. */
  count: number;
  /** The read buffer they are in. */
  buffer: number;
}

/** What {@link streamFile} needs besides a progress callback. */
interface FileStream {
  channel: Channel;
  entry: LocalEntry;
  /**
   * Where to resume, with the hash of the bytes before it, when the server
   * proved to hold them.
   */
  resume: { offset: number; hash: Hash } | null;
  /**
   * Read buffers of {@link DATA_CHUNK_SIZE}, two used in turn, and a third
   * made while a chunk is being compressed.
   */
  buffers: Uint8Array[];
  /** Chooses which records go compressed. */
  compressor: Compressor;
  /** Announces the file from `offset`, once the file is known readable. */
  start: (offset: number) => Promise<void>;
}

/**
 * Streams one file as data frames, some of them compressed, and returns
 * its SHA-256: from where the server's kept data ends when it matched,
 * from 0 otherwise. The next chunk is read from disk while the current one
 * is hashed, sealed and sent. Throws {@link SourceChangedError} when the
 * file is not what was scanned. `onBytes` learns of the file bytes of
 * each chunk and the bytes of payload they took on the wire.
 */
async function streamFile(
  { channel, entry, resume, buffers, compressor, start }: FileStream,
  onBytes: (count: number, wire: number) => void,
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
  const hash = resume?.hash ?? newHash();
  const offset = resume?.offset ?? 0;
  if (offset > 0) await file.seek(offset, Deno.SeekMode.Start);
  await start(offset);
  let unread = entry.size - offset;
  // A chunk being compressed goes out once the next one is read, hashed
  // and handed to the compressor: both compress at once on the runtime's
  // threads while this one seals and sends, and a third buffer is read
  // into meanwhile.
  let compressing: PendingChunk | null = null;
  let turn = 0;
  /** The buffer to read into after the one at `turn`. */
  const nextTurn = () => {
    if (compressing === null) return turn === 0 ? 1 : 0;
    let next = (turn + 1) % 3;
    if (next === compressing.buffer) next = (next + 1) % 3;
    buffers[next] ??= new Uint8Array(DATA_CHUNK_SIZE);
    return next;
  };
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
  // Compressions not yet awaited: each reads a buffer until it ends.
  const unsettled = new Set<Promise<PackedRecord>>();
  const sendChunk = async ({ records, count }: PendingChunk) => {
    let wire = 0;
    for (const pending of records) {
      const record = await pending;
      if (pending instanceof Promise) unsettled.delete(pending);
      wire += record.payload.length;
      await channel.send(record.type, record.payload);
      // Sealed into memory of its own by now: free it at once.
      if (record.type === FrameType.Compressed) releaseBuffer(record.payload);
    }
    onBytes(count, wire);
  };
  let reading = unread > 0 ? readNext() : null;
  try {
    while (reading !== null) {
      const count = await reading;
      if (count === null) {
        throw new SourceChangedError("it shrank while being sent");
      }
      const buffer = turn;
      const chunk = buffers[buffer].subarray(0, count);
      unread -= count;
      turn = nextTurn();
      reading = unread > 0 ? readNext() : null;
      hash.update(chunk);
      const records: PendingChunk["records"] = [];
      for (let at = 0; at < count; at += DATA_FRAME_SIZE) {
        const end = Math.min(at + DATA_FRAME_SIZE, count);
        const record = compressor.packLater(chunk.subarray(at, end));
        if (record instanceof Promise) {
          // Awaited only after the next chunk is read: a failure must not
          // count as unhandled meanwhile.
          record.catch(() => {});
          unsettled.add(record);
        }
        records.push(record);
      }
      const previous = compressing;
      compressing = null;
      if (previous !== null) await sendChunk(previous);
      if (unsettled.size > 0) {
        compressing = { records, count, buffer };
      } else {
        await sendChunk({ records, count, buffer });
      }
    }
    if (compressing !== null) {
      const last: PendingChunk = compressing;
      compressing = null;
      await sendChunk(last);
    }
  } finally {
    // The file closes on the way out; a read still running must end first,
    // and so must a compression still reading its buffer.
    await reading?.catch(() => null);
    await Promise.allSettled(unsettled);
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
 * Why a file was not sent to the `other` end, which has a different one
 * of that name, with what each side can do about it.
 */
function differentFile(other: string): string {
  return other === "server"
    ? "a different file with this name is on the server, which keeps it (--rename sends yours under another name, --skip-existing leaves it; the server replaces it only with --overwrite)"
    : "a different file with this name is on the client, which keeps it (the client takes the new one with --overwrite or --rename, or leaves it with --skip-existing)";
}

/**
 * Runs one attempt of `run` over an established `channel`: sends what the
 * server does not have yet, resuming files it kept, and reports each
 * outcome through the run.
 */
export async function sendEntries(
  channel: Channel,
  run: SendRun,
  peer: PeerName = "Server",
): Promise<SendResult> {
  const { entries, emit } = run;
  const other = lower(peer);
  run.deferred.clear();
  await sendManifest(channel, entries, run.ifDifferent);
  const decisions = await receiveDecisions(channel, entries.length, peer);
  checkDecisions(entries, decisions, peer);
  const proofs = await exchangeProofs(
    channel,
    entries,
    decisions,
    (index) => run.confirmedHash(index),
    () => receiveMessage(channel, `the ${other}'s answers to the proofs`, peer),
    peer,
    emit,
  );
  const confirmations = new Confirmations(run, peer);
  const reading = confirmations.run(channel, receiveMessage);
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
  ];
  const compressor = new Compressor(run.compress, () => channel.stalledMs());
  try {
    for (let index = 0; index < entries.length; index++) {
      const entry = entries.local(index);
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
          message: `refused by the ${other}: ${sanitize(decision.reason)}`,
        }, index);
        continue;
      }
      if (entry.kind === "folder") continue;
      const proof = proofs.get(index);
      if (proof?.unreadable !== undefined) {
        // The server was told with the proof and settled it.
        emit({
          type: "file-failed",
          path: entry.path,
          message: `cannot read: ${proof.unreadable}`,
        }, index);
        continue;
      }
      if (decision.action === "compare") {
        if (proof!.match) {
          emit({
            type: "file-skipped",
            path: entry.path,
            reason: "already-there",
            sha256: proof!.sha256!,
            ...(proof!.savedAs === undefined
              ? {}
              : { savedAs: proof!.savedAs }),
          }, index);
          continue;
        }
        if (!decision.replace) {
          // An older receiver knows no ifDifferent: this side's own wish
          // to leave the file still holds.
          if (
            decision.ifDifferent === "skip" || run.ifDifferent === "skip"
          ) {
            emit({
              type: "file-skipped",
              path: entry.path,
              reason: "different",
            }, index);
          } else {
            emit({
              type: "file-failed",
              path: entry.path,
              message: differentFile(other),
            }, index);
          }
          continue;
        }
        if (run.ifDifferent !== undefined && !decision.ifDifferent) {
          // A receiver that knows no ifDifferent would replace its file,
          // which this side asked to keep: it gets none, and says the
          // file was not read.
          await send(channel, { type: "skip", index, reason: "unreadable" });
          emit(
            run.ifDifferent === "skip"
              ? { type: "file-skipped", path: entry.path, reason: "different" }
              : {
                type: "file-failed",
                path: entry.path,
                message:
                  `a different file with this name is on the ${other}, which would replace it (it runs with --overwrite and cannot save yours under another name); not sent`,
              },
            index,
          );
          continue;
        }
      }
      const resume = decision.action === "send" && proof?.match && proof.prefix
        ? { offset: decision.offset, hash: proof.prefix }
        : null;
      let started = false;
      const start = async (offset: number) => {
        started = true;
        emit({
          type: "file-start",
          path: entry.path,
          size: entry.size,
          offset,
        }, index);
        await send(channel, { type: "file", index, offset });
      };
      try {
        const sha256 = await streamFile(
          { channel, entry, resume, buffers, compressor, start },
          (count, wire) => run.addBytes(count, wire),
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
        emit({ type: "file-failed", path: entry.path, message }, index);
        await send(
          channel,
          started
            ? { type: "abort", index, message }
            : { type: "skip", index, reason: "unreadable" },
        );
      }
    }
    confirmations.done();
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
