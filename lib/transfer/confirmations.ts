/**
 * The client's record of the files it sent and the server's word on each:
 * a `verified` with the same hash, or a `failed` with the server's reason,
 * until the server's summary. The hashes sent are kept by the run, 32
 * bytes per entry; what awaits a confirmation is one bit per entry.
 *
 * @module
 */

import type { Channel } from "../secure/channel.ts";
import type { ReceiverMessage } from "../protocol/messages.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { sanitize } from "../protocol/text.ts";
import { IndexSet } from "./index_set.ts";
import { lower, ownEnd, type PeerName } from "./peer.ts";
import type { SendRun } from "./send_run.ts";

/** Tracks the files sent and waits for the server's word on each. */
export class Confirmations {
  /** The files sent whole and not confirmed yet. */
  #pending: IndexSet;
  #run: SendRun;
  #peer: PeerName;
  #done = false;

  /** Confirmations of the files of `run`, reported through it. */
  constructor(run: SendRun, peer: PeerName = "Server") {
    this.#peer = peer;
    this.#run = run;
    this.#pending = new IndexSet(run.entries.length);
  }

  /** Notes that entry `index` was sent whole, hashing to `sha256`. */
  expect(index: number, sha256: string): void {
    this.#run.noteSent(index, sha256);
    this.#pending.add(index);
  }

  /**
   * Notes that every file was sent: from now on, and only now, the
   * server's summary may come.
   */
  done(): void {
    this.#done = true;
  }

  /** Handles messages until the server's summary; rejects on errors. */
  async run(
    channel: Channel,
    receive: (
      channel: Channel,
      what: string,
      peer: PeerName,
    ) => Promise<ReceiverMessage>,
  ): Promise<void> {
    for (;;) {
      const message = await receive(channel, "confirmations", this.#peer);
      switch (message.type) {
        case "verified": {
          const { index } = message;
          const sent = this.#take(index);
          const path = this.#run.entries.path(index);
          if (message.sha256 !== sent) {
            this.#run.emit({
              type: "file-failed",
              path,
              message: `${
                lower(this.#peer)
              }'s hash ${message.sha256} differs from the sent file's ${sent}`,
            }, index);
          } else {
            this.#run.emit({
              type: "file-verified",
              path,
              size: this.#run.entries.size(index),
              sha256: message.sha256,
              ...(message.savedAs === undefined
                ? {}
                : { savedAs: message.savedAs }),
            }, index);
          }
          break;
        }
        case "failed": {
          const { index } = message;
          this.#take(index);
          this.#run.emit({
            type: "file-failed",
            path: this.#run.entries.path(index),
            message: `${lower(this.#peer)}: ${sanitize(message.message)}`,
          }, index);
          break;
        }
        case "summary":
          // Before the sender is done, a summary would settle files still
          // to come as neither verified nor failed.
          if (!this.#done) {
            throw new ProtocolError(
              `${this.#peer} sent its summary before the ${
                ownEnd(this.#peer)
              } was done`,
            );
          }
          if (this.#pending.size > 0) {
            throw new ProtocolError(
              `${this.#peer} ended the session without confirming ${this.#pending.size} files`,
            );
          }
          return;
        default:
          throw new ProtocolError(
            `${this.#peer} sent an unexpected ${message.type} message`,
          );
      }
    }
  }

  /** The hash sent of file `index`, which is no longer awaited. */
  #take(index: number): string {
    if (!this.#pending.has(index)) {
      throw new ProtocolError(
        `${this.#peer} confirmed file ${index}, which is not awaiting confirmation`,
      );
    }
    this.#pending.delete(index);
    return this.#run.sentHash(index);
  }
}
