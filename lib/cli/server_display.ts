/**
 * How the server's events are shown: each as a JSON event with --json, or
 * as a line of text (progress on the progress line).
 *
 * @module
 */

import { formatBytes, shortHash } from "../common/format.ts";
import type { ServerEvent } from "../transfer/serve.ts";
import { onTheWire } from "./client_display.ts";
import type { Output } from "./console_output.ts";

/**
 * Shows a server event in the chosen output mode; `sharing` for a server
 * that sends its files rather than receiving them.
 */
export function showServerEvent(
  output: Output,
  event: ServerEvent,
  sharing = false,
): void {
  if (event.type === "progress") {
    const { peer, ...progress } = event;
    output.progress(progress, { peer });
    return;
  }
  output.event(event);
  const who = event.peer === undefined ? "server:" : `[${event.peer}]`;
  switch (event.type) {
    case "connected":
      output.info(`${who} connected`);
      break;
    case "file-start":
      if (event.offset > 0) {
        output.info(
          `${who} resuming ${event.path} at ${event.offset} of ${event.size} bytes`,
        );
      }
      break;
    case "file-verified":
      output.info(
        `${who} ${sharing ? "sent" : "received"} ${event.path} (${
          formatBytes(event.size)
        }, sha256 ${shortHash(event.sha256)})`,
      );
      break;
    case "file-skipped":
      output.info(`${who} already there: ${event.path}`);
      break;
    case "file-failed":
      output.problem(`${who} failed ${event.path}: ${event.message}`);
      break;
    case "warning":
      output.problem(`${who} ${event.message}`);
      break;
    case "error":
      output.problem(`${who} error: ${event.message}`);
      break;
    case "done":
      output.info(
        `${who} done: ${event.verified} verified, ${
          event.skipped === undefined ? "" : `${event.skipped} already there, `
        }${event.failed} failed, ${formatBytes(event.bytes)}${
          onTheWire(event)
        } ${sharing ? "sent" : "received"} in ${event.seconds.toFixed(2)} s`,
      );
      break;
  }
}
