/**
 * Peer processes of the discovery tests: the lines a peer prints, one at
 * a time, each within the patience of the suite.
 *
 * @module
 */

import { PATIENCE_MS } from "./conditions.ts";
import { ROOT } from "./helpers.ts";

/** The peer program (see its module comment). */
export const PEER = `${ROOT}tests/discovery_peer.ts`;

/**
 * The announcement interval of responders in tests of answers: they
 * announce at start, before the search, and then not for an hour, so
 * that what a search finds was an answer to its queries.
 */
export const ONLY_AT_START = 3_600_000;

/** A peer process: the lines it prints, one at a time, and its end. */
export function watch(child: Deno.ChildProcess) {
  let stderr = "";
  const errors = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (text) => void (stderr += text) }),
  );
  const lines = new Lines(child.stdout);
  return {
    async next(): Promise<string> {
      const line = await within(lines.next(), "a line from the peer");
      if (line === null) throw new Error(`the peer ended early: ${stderr}`);
      return line;
    },
    async stop(): Promise<void> {
      await child.stdin.close().catch(() => {});
      try {
        child.kill();
      } catch {
        // It ended already.
      }
      await lines.cancel();
      await child.status;
      await errors;
    },
  };
}

/** `promise`, or an error naming `what` if it takes longer than patience. */
export async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`waited ${PATIENCE_MS} ms for ${what}`)),
      PATIENCE_MS,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a stream of text one line at a time. */
export class Lines {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #text = "";

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next line, without its newline; null at the end. */
  async next(): Promise<string | null> {
    while (!this.#text.includes("\n")) {
      const { value, done } = await this.#reader.read();
      if (done) return null;
      this.#text += value;
    }
    const end = this.#text.indexOf("\n");
    const line = this.#text.slice(0, end);
    this.#text = this.#text.slice(end + 1);
    return line;
  }

  /** Stops reading, and closes the stream. */
  async cancel(): Promise<void> {
    await this.#reader.cancel();
  }
}
