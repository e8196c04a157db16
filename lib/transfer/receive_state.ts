/**
 * What the data phase of a receiving session shares with the session
 * around it, and how it tells a lost connection from other failures.
 *
 * @module
 */

import { ConnectionClosedError } from "../net/byte_stream.ts";
import type { Channel } from "../secure/channel.ts";
import type { EntryList } from "../protocol/entry_list.ts";
import type { Decision } from "../protocol/messages.ts";
import type { EventSink, ProgressCounter } from "./events.ts";
import type { FileStore } from "../store/file_store.ts";
import type { PeerName } from "./peer.ts";
import type { IndexSet } from "./index_set.ts";

/** Whether `error` is the connection ending under a read. */
export function isConnectionLoss(error: unknown): boolean {
  return error instanceof ConnectionClosedError ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.UnexpectedEof;
}

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
  /** Counts of the session: `wireBytes` are the data frames' payloads. */
  result: {
    verified: number;
    skipped: number;
    different: number;
    failed: number;
    bytes: number;
    wireBytes: number;
  };
  /** Learns of each data frame: its file bytes and its payload's. */
  onData?: (bytes: number, wire: number) => void;
  /** Progress of the session. */
  progress: ProgressCounter | null;
  /** What the sender is called in messages. */
  peer: PeerName;
}
