/**
 * How the server's events are shown: each as a JSON event with --json, or
 * as text: a live line per session under way on a terminal, a line per
 * session with its totals when it ends, the failures and warnings, and a
 * line per connection and per file where lines per file are shown
 * (`--verbose`, or output that is not a terminal).
 *
 * @module
 */

import { formatBytes, formatRate, shortHash } from "../common/format.ts";
import type { ServerEvent } from "../transfer/serve.ts";
import { onTheWire } from "./client_display.ts";
import type { Output } from "./console_output.ts";

/** The totals of one session, in the words the client uses too. */
export function sessionLine(
  event: Extract<ServerEvent, { type: "done" }>,
  sharing: boolean,
): string {
  const moved = event.verified - event.skipped;
  const different = event.different ?? 0;
  const left = different > 0 ? `, ${different} skipped` : "";
  return `done: ${moved} of ${event.files} ${
    sharing ? "files sent and verified" : "files received and verified"
  }, ${event.skipped} already there${left}, ${event.failed} failed; ${
    formatBytes(event.bytes)
  }${onTheWire(event)} in ${event.seconds.toFixed(2)} s (${
    formatRate(event.bytes, event.seconds)
  })`;
}

/**
 * Shows a server event in the chosen output mode; `sharing` for a server
 * that sends its files rather than receiving them.
 */
export function showServerEvent(
  output: Output,
  event: ServerEvent,
  sharing = false,
): void {
  const key = event.peer ?? "";
  const who = event.peer === undefined ? "server:" : `[${event.peer}]`;
  const prefix = `${who} `;
  if (event.type === "progress") {
    const { peer, ...progress } = event;
    output.progress(progress, { peer }, key, prefix);
    return;
  }
  output.event(event);
  switch (event.type) {
    case "connected":
      output.detail(`${who} connected`);
      break;
    case "handshake":
      // A live line for authenticated sessions only: strangers that
      // never get through the key exchange do not crowd the display.
      output.note(
        {
          before: sharing
            ? "sending the file list..."
            : "receiving the file list...",
        },
        key,
        prefix,
      );
      break;
    case "checking":
      output.note(
        {
          before: "checking ",
          path: event.path,
          after: event.count > 1
            ? `... (${event.number} of ${event.count})`
            : "...",
        },
        key,
        prefix,
      );
      break;
    case "file-start":
      if (event.offset > 0) {
        output.detail(
          `${who} resuming ${event.path} at ${formatBytes(event.offset)} of ${
            formatBytes(event.size)
          }`,
        );
      }
      break;
    case "file-verified":
      output.detail(
        `${who} ${sharing ? "sent" : "received"} ${event.path}${
          event.savedAs === undefined
            ? ""
            : `${sharing ? ", saved" : ""} as ${event.savedAs}`
        } (${formatBytes(event.size)}, sha256 ${shortHash(event.sha256)})`,
      );
      break;
    case "file-skipped":
      output.detail(
        event.reason === "different"
          ? `${who} skipped ${event.path}: ${
            sharing
              ? "the client has a different file with this name and keeps it"
              : "a different file with this name is here, and stays (the client asked to leave such files)"
          }`
          : `${who} already there: ${event.path}${
            event.savedAs === undefined ? "" : ` as ${event.savedAs}`
          }`,
      );
      break;
    case "file-failed":
      output.problem(`${who} failed ${event.path}: ${event.message}`);
      break;
    case "warning":
      output.problem(`${who} ${event.message}`);
      break;
    case "error":
      output.endTransfer(key);
      output.problem(`${who} error: ${event.message}`);
      break;
    case "done": {
      output.endTransfer(key);
      const line = `${who} ${sessionLine(event, sharing)}`;
      // --quiet still says which sessions had failures.
      if (!event.ok && output.mode === "quiet") output.problem(line);
      else output.info(line);
      break;
    }
  }
}
