/**
 * The data phase of a receiving session: file data written to the store as it
 * arrives, each file checked against its size and hash, and verified files
 * put in place in groups ({@link ./commit.ts}) until the client is done.
 *
 * @module
 */

import { ConnectionClosedError } from "../net/byte_stream.ts";
import { type Frame } from "../secure/channel.ts";
import { FrameType } from "../protocol/constants.ts";
import { releaseBuffer } from "../common/release.ts";
import { decompressFrame } from "./zstd_records.ts";
import type { Entry, SenderMessage } from "../protocol/messages.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { quote, sanitize } from "../protocol/text.ts";
import { commitGroup, type VerifiedFile } from "./commit.ts";
import { errorMessage } from "../common/errors.ts";
import { IncomingFile } from "./incoming_file.ts";
import { lower, ownEnd } from "./peer.ts";
import { Pacer } from "../common/pace.ts";
import { controlMessage, send } from "./receive_setup.ts";
import type { KeptPart } from "./kept_part.ts";
import { type WaitLimit, waitLimitOf } from "./client_limits.ts";
import { isConnectionLoss, type SessionState } from "./receive_state.ts";

/** Verified files put in place together, at most. */
const COMMIT_FILES = 256;

/** Bytes of verified files put in place together, at most. */
const COMMIT_BYTES = 64 * 1024 * 1024;

/** A pause of the client this long puts verified files in place. */
const COMMIT_PAUSE_MS = 10;

/** Receives files until the client is done. */
export class DataPhase {
  #session: SessionState;
  #incoming: IncomingFile | null = null;
  /** Files verified by hash, waiting to be put in place together. */
  #verified: VerifiedFile[] = [];
  #verifiedBytes = 0;
  /** The group of verified files being put in place, if any. */
  #committing: Promise<void> = Promise.resolve();
  /** How long the sender may say only `wait`, when the channel says. */
  #waits: WaitLimit | undefined;

  /** The data phase of `session`. */
  constructor(session: SessionState) {
    this.#session = session;
    this.#waits = waitLimitOf(session.channel);
  }

  /** Receives frames until the client's `done` is answered. */
  run(): Promise<void> {
    return this.#receiveFiles();
  }

  /**
   * After the session failed: puts the files already verified in place
   * all the same, keeps what arrived of the file in flight, and says what
   * was kept, if anything.
   */
  async abandon(): Promise<KeptPart | null> {
    await this.#committing.catch(() => {});
    await this.#commit().catch(() => {});
    const incoming = this.#incoming;
    this.#incoming = null;
    return await incoming?.keep() ?? null;
  }

  /**
   * The next frame; verified files waiting to be put in place go in place
   * first when the client pauses, so that a client that waits for their
   * confirmation gets it.
   */
  async #nextFrame(): Promise<Frame | null> {
    // A timer per frame would cost more than the frame: when the next one
    // is already arriving, the client is not pausing.
    const arriving = this.#session.channel.hasBuffered();
    const next = this.#session.channel.receive();
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
    await this.#session.channel.flush();
    return await next;
  }

  async #receiveFiles(): Promise<void> {
    for (;;) {
      let frame: Frame | null;
      try {
        frame = await this.#nextFrame();
      } catch (error) {
        throw this.#left(error);
      }
      if (frame === null) {
        // A clean close at a record boundary, as of a server that stops: the
        // connection is gone, not abused, and a client retries it.
        throw this.#incoming === null
          ? new ConnectionClosedError(`${this.#session.peer} disconnected`)
          : this.#left(new ConnectionClosedError());
      }
      if (
        (frame.type === FrameType.Data ||
          frame.type === FrameType.Compressed) && this.#incoming !== null
      ) {
        this.#waits?.progressed();
        await this.#receiveData(this.#incoming, frame);
        continue;
      }
      const message = controlMessage(frame, this.#session.peer);
      if (message.type === "wait") {
        // Nothing is left to hash once data flows: a sender that only says
        // wait is stuck, and a receiving client gives up on it.
        this.#waits?.waited("file data");
        continue;
      }
      this.#waits?.progressed();
      if (message.type === "done") {
        await this.#finish();
        return;
      }
      await this.#handle(message);
    }
  }

  /**
   * The error to end the session with after `error`: a connection lost in
   * the middle of a file, whether at a record's edge or within one, is a
   * peer that left (interrupted, or its machine or network gone), said as
   * such; what is kept of the file follows in the same line.
   */
  #left(error: unknown): unknown {
    if (this.#incoming === null || !isConnectionLoss(error)) return error;
    return new ConnectionClosedError(
      `${this.#session.peer} left in the middle of a file`,
    );
  }

  /** Takes one data frame, compressed or not, of the file in flight. */
  async #receiveData(incoming: IncomingFile, frame: Frame): Promise<void> {
    const wire = frame.payload.length;
    let data = frame;
    if (frame.type === FrameType.Compressed) {
      // Checked and bounded before a byte of it is written or hashed.
      const payload = decompressFrame(frame.payload);
      if (frame.detached) releaseBuffer(frame.payload);
      data = { type: FrameType.Data, payload, detached: true };
    }
    const { result } = this.#session;
    const bytes = data.payload.length;
    result.bytes += bytes;
    result.wireBytes += wire;
    this.#session.onData?.(bytes, wire);
    this.#session.progress?.add(bytes);
    await incoming.write(data);
  }

  /** Takes an index the client names, which must still await a file. */
  #claim(index: number, what: string): Entry {
    if (this.#incoming !== null) {
      throw new ProtocolError(
        `${this.#session.peer} sent ${what} while ${
          quote(this.#session.entries.path(this.#incoming.index))
        } was unfinished`,
      );
    }
    if (!this.#session.open.has(index)) {
      throw new ProtocolError(
        `${this.#session.peer} sent ${what} for entry ${index}, which is not an expected file`,
      );
    }
    this.#session.open.delete(index);
    return this.#session.entries.get(index);
  }

  async #startFile(index: number, offset: number): Promise<void> {
    const entry = this.#claim(index, "a file");
    const decision = this.#session.decisions[index];
    const resumable =
      decision.action === "send" && this.#session.resumable.has(index)
        ? decision.offset
        : 0;
    if (offset !== 0 && offset !== resumable) {
      throw new ProtocolError(
        `${this.#session.peer} sent ${
          quote(entry.path)
        } from offset ${offset}, ${
          resumable === 0
            ? `the ${ownEnd(this.#session.peer)} offered only 0`
            : `the ${ownEnd(this.#session.peer)} offered 0 or ${resumable}`
        }`,
      );
    }
    this.#incoming = await IncomingFile.open(
      this.#session.store,
      index,
      entry,
      offset,
      this.#session.peer,
    );
    this.#session.emit({
      type: "file-start",
      path: entry.path,
      size: entry.size,
      offset,
    }, index);
  }

  async #handle(message: SenderMessage): Promise<void> {
    switch (message.type) {
      case "file":
        return await this.#startFile(message.index, message.offset);
      case "end":
        return await this.#end(message.index, message.sha256);
      case "abort": {
        const incoming = this.#incoming;
        if (incoming === null || incoming.index !== message.index) {
          throw new ProtocolError(
            `${this.#session.peer} aborted entry ${message.index}, which is not being sent`,
          );
        }
        this.#incoming = null;
        await incoming.drop();
        this.#session.result.failed++;
        this.#session.emit({
          type: "file-failed",
          path: this.#session.entries.path(incoming.index),
          message: `${lower(this.#session.peer)} gave up: ${
            sanitize(message.message)
          }`,
        }, incoming.index);
        return;
      }
      case "skip": {
        const entry = this.#claim(message.index, "a skip");
        this.#session.result.failed++;
        this.#session.emit({
          type: "file-failed",
          path: entry.path,
          message: `the ${lower(this.#session.peer)} could not read it`,
        }, message.index);
        return;
      }
      case "manifest":
        throw new ProtocolError(`${this.#session.peer} sent a second manifest`);
      default:
        throw new ProtocolError(
          `${this.#session.peer} sent ${message.type} out of order`,
        );
    }
  }

  async #end(index: number, claimed: string): Promise<void> {
    const incoming = this.#incoming;
    if (incoming === null || incoming.index !== index) {
      throw new ProtocolError(
        `${this.#session.peer} ended entry ${index}, which is not being sent`,
      );
    }
    const entry = incoming.entry;
    if (incoming.received !== entry.size) {
      throw new ProtocolError(
        `${this.#session.peer} sent ${incoming.received} bytes for ${
          quote(entry.path)
        }, fewer than the ${entry.size} announced`,
      );
    }
    // Without a hash the file failed to open, and fails below anyway.
    const sha256 = incoming.hash?.digest("hex") ?? claimed;
    if (sha256 !== claimed) {
      this.#incoming = null;
      await incoming.drop();
      throw new ProtocolError(
        `Hash mismatch for ${
          quote(entry.path)
        }: received data hashes to ${sha256}, ${
          lower(this.#session.peer)
        } announced ${claimed}`,
      );
    }
    await incoming.finish();
    this.#incoming = null;
    this.#verified.push({
      index,
      sha256,
      partial: incoming.partial,
      failure: incoming.failure,
    });
    this.#verifiedBytes += entry.size;
    // A session that waits for its commit reads nothing more, so that
    // with descriptors crowded no session opens more files meanwhile.
    if (
      this.#verified.length >= COMMIT_FILES ||
      this.#verifiedBytes >= COMMIT_BYTES ||
      this.#session.store.crowded?.() === true
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
    this.#committing = this.#commit().then(() => this.#session.channel.flush());
    this.#committing.catch(() => {});
  }

  /** Puts the files verified so far in place and confirms each. */
  async #commit(): Promise<void> {
    const group = this.#verified;
    this.#verified = [];
    this.#verifiedBytes = 0;
    await commitGroup(
      group,
      this.#session.entries,
      this.#session.store,
      this.#session.channel,
      this.#session.emit,
      this.#session.result,
    );
  }

  async #finish(): Promise<void> {
    if (this.#incoming !== null) {
      throw new ProtocolError(
        `${this.#session.peer} finished while ${
          quote(this.#session.entries.path(this.#incoming.index))
        } was unfinished`,
      );
    }
    if (this.#session.open.size > 0) {
      throw new ProtocolError(
        `${this.#session.peer} finished without sending ${this.#session.open.size} expected files`,
      );
    }
    await this.#startCommit();
    await this.#committing;
    // Deepest first, so that a read-only folder is locked only once its
    // contents are written.
    const { entries, decisions } = this.#session;
    const folders: Entry[] = [];
    for (let i = 0; i < entries.length; i++) {
      if (entries.kind(i) === "folder" && decisions[i].action === "accept") {
        folders.push(entries.get(i));
      }
    }
    folders.sort((a, b) => b.path.length - a.path.length);
    const pacer = new Pacer();
    for (const folder of folders) {
      try {
        await this.#session.store.finishFolder(folder);
      } catch (error) {
        this.#session.emit({
          type: "warning",
          message: `Cannot set the mode or time of ${quote(folder.path)}: ${
            errorMessage(error)
          }`,
        });
      }
      await pacer.pace();
    }
    await send(this.#session.channel, {
      type: "summary",
      verified: this.#session.result.verified,
      failed: this.#session.result.failed,
    });
    await this.#session.channel.flush();
  }
}
