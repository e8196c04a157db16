/**
 * The data phase of a server session: file data written to the store as it
 * arrives, each file checked against its size and hash, and verified files
 * put in place in groups ({@link ./commit.ts}) until the client is done.
 *
 * @module
 */

import { ConnectionClosedError } from "../net/byte_stream.ts";
import { type Channel, type Frame } from "../secure/channel.ts";
import { FrameType } from "../protocol/constants.ts";
import type { EntryList } from "../protocol/entry_list.ts";
import type { Decision, Entry, SenderMessage } from "../protocol/messages.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { quote, sanitize } from "../protocol/text.ts";
import { commitGroup, type VerifiedFile } from "./commit.ts";
import { errorMessage } from "../common/errors.ts";
import type { EventSink, ProgressCounter } from "./events.ts";
import type { FileStore } from "../store/file_store.ts";
import { IncomingFile } from "./incoming_file.ts";
import { lower, ownEnd, type PeerName } from "./peer.ts";
import type { IndexSet } from "./index_set.ts";
import { Pacer } from "../common/pace.ts";
import { controlMessage, send } from "./receive_setup.ts";

/** What the data phase shares with the session around it. */
export interface SessionState {
  /** The encrypted channel to the client. */
  channel: Channel;
  /** Where files go. */
  store: FileStore;
  /** Reports events. */
  emit: EventSink;
  /** The manifest. */
  entries: EntryList;
  /** The decision for each entry. */
  decisions: Decision[];
  /** Files the client must still send or skip. */
  open: IndexSet;
  /** Files whose kept data the client proved it shares. */
  resumable: Set<number>;
  /** Counts of the session. */
  result: { verified: number; failed: number; bytes: number };
  /** Progress of the session. */
  progress: ProgressCounter | null;
  /** What the sender is called in messages. */
  peer: PeerName;
}

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

  /** The data phase of `session`. */
  constructor(session: SessionState) {
    this.#session = session;
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
  async abandon(): Promise<string | null> {
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
      const frame = await this.#nextFrame();
      if (frame === null) {
        const where = this.#incoming === null
          ? ""
          : ` in the middle of ${
            quote(this.#session.entries.path(this.#incoming.index))
          }`;
        // A clean close at a record boundary, as of a server that stops: the
        // connection is gone, not abused, and a client retries it.
        throw new ConnectionClosedError(
          `${this.#session.peer} disconnected${where}`,
        );
      }
      if (frame.type === FrameType.Data && this.#incoming !== null) {
        this.#session.result.bytes += frame.payload.length;
        this.#session.progress?.add(frame.payload.length);
        await this.#incoming.write(frame);
        continue;
      }
      const message = controlMessage(frame, this.#session.peer);
      if (message.type === "done") {
        await this.#finish();
        return;
      }
      await this.#handle(message);
    }
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
      case "wait":
        return;
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
