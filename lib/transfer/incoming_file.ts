/**
 * The one file whose data is arriving in a server session: where it is
 * written, its hash so far, and what becomes of it when the session ends
 * early, the client gives up on it, or saving it fails on this side.
 *
 * @module
 */

import type { Frame } from "../secure/channel.ts";
import type { Entry } from "../protocol/messages.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { quote } from "../protocol/text.ts";
import { saveFailure } from "./commit.ts";
import type { FileStore, PartialFile } from "../store/file_store.ts";
import { type Hash, newHash } from "../store/hash.ts";
import { releaseBuffer } from "../common/release.ts";
import type { PeerName } from "./peer.ts";
import { WriteBehind } from "../store/write_behind.ts";
import type { KeptPart } from "./kept_part.ts";

/** The file whose data is arriving. */
export class IncomingFile {
  /** Its index in the manifest. */
  readonly index: number;
  /** Its manifest entry. */
  readonly entry: Entry;
  /** Where the data goes; null once saving it failed on this side. */
  partial: PartialFile | null;
  /** Why saving failed, to report when the client ends the file. */
  failure: string | null;
  /** SHA-256 of the file so far; null when it could not even be opened. */
  readonly hash: Hash | null;
  /** Bytes of the file this side has, from earlier sessions included. */
  received: number;
  /** Bytes of the file received in this session. */
  arrived = 0;
  #store: FileStore;
  #writer: WriteBehind | null;
  #peer: PeerName;

  private constructor(
    store: FileStore,
    index: number,
    entry: Entry,
    offset: number,
    partial: PartialFile | null,
    failure: string | null,
    peer: PeerName,
  ) {
    this.#store = store;
    this.#peer = peer;
    this.index = index;
    this.entry = entry;
    this.partial = partial;
    this.failure = failure;
    this.hash = partial?.hash ?? (offset === 0 ? newHash() : null);
    this.received = offset;
    this.#writer = partial &&
      new WriteBehind(partial.file, entry.size - offset);
  }

  /**
   * Opens where `entry` goes in `store`, from `offset`; a failure to open
   * fails this file alone, once its data has been read.
   */
  static async open(
    store: FileStore,
    index: number,
    entry: Entry,
    offset: number,
    peer: PeerName,
  ): Promise<IncomingFile> {
    try {
      const partial = await store.createPartial(entry, offset);
      return new IncomingFile(store, index, entry, offset, partial, null, peer);
    } catch (error) {
      return new IncomingFile(
        store,
        index,
        entry,
        offset,
        null,
        saveFailure(error),
        peer,
      );
    }
  }

  /**
   * Takes one data frame: counted, hashed and written, or after a local
   * failure only counted and hashed, so that one unsavable file does not
   * end the session.
   */
  async write(frame: Frame): Promise<void> {
    const data = frame.payload;
    if (this.received + data.length > this.entry.size) {
      throw new ProtocolError(
        `${this.#peer} sent more bytes than announced for ${
          quote(this.entry.path)
        }`,
      );
    }
    this.received += data.length;
    this.arrived += data.length;
    this.hash?.update(data);
    if (this.#writer === null) {
      if (frame.detached) releaseBuffer(data);
      return;
    }
    try {
      await this.#writer.write(data, frame.detached);
    } catch (error) {
      await this.#failSaving(error);
    }
  }

  /** Writes out what is queued; a failure fails this file alone. */
  async finish(): Promise<void> {
    try {
      await this.#writer?.finish();
    } catch (error) {
      await this.#failSaving(error);
    }
  }

  /** Deletes what arrived: it is of no use. */
  async drop(): Promise<void> {
    if (this.partial === null) return;
    await this.#writer?.abandon();
    await this.#store.discard(this.partial);
    this.partial = null;
  }

  /**
   * Keeps what arrived when the session ends early, and says what: every
   * byte of it came through an authenticated record, and the next session
   * resumes from it once the client proves its prefix is the same.
   */
  async keep(): Promise<KeptPart> {
    let kept: number | null = 0;
    if (this.partial) {
      try {
        await this.#writer?.finish();
      } catch {
        // What did reach the disk is still a valid prefix.
      }
      kept = await this.#store.keep(this.partial).catch(() => 0);
      this.partial = null;
    }
    const { path, size } = this.entry;
    // null: written straight out, as on standard output.
    return { path, size, kept, arrived: this.arrived };
  }

  /**
   * Stops saving after `error`, keeping what reached the disk for a later
   * session; the rest of the file is still read and hashed.
   */
  async #failSaving(error: unknown): Promise<void> {
    this.failure = saveFailure(error);
    const partial = this.partial;
    this.partial = null;
    await this.#writer?.abandon();
    this.#writer = null;
    if (partial) await this.#store.keep(partial).catch(() => 0);
  }
}
