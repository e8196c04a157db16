/**
 * What the client prints: a line per file as the server confirms it (or,
 * with `--get`, as it arrives verified), the retries, and the summary,
 * as text for people or as JSON events.
 *
 * @module
 */

import { formatBytes, formatRate, shortHash } from "../common/format.ts";
import { FilesDeferredError } from "../transfer/attempts.ts";
import type { TransferEvent } from "../transfer/events.ts";
import { describeLoss } from "../transfer/retry.ts";
import type { SendResult } from "../transfer/send_run.ts";
import type { Output } from "./console_output.ts";

/** Which way the client moves files. */
export type Direction = "send" | "get";

/** Shows one transfer event in the chosen output mode. */
export function showClientEvent(
  output: Output,
  event: TransferEvent,
  direction: Direction = "send",
): void {
  switch (event.type) {
    case "progress":
      output.progress(event);
      return;
    case "warning":
      output.event(event);
      output.problem(`warning: ${event.message}`);
      return;
    case "file-failed":
      output.event(event);
      output.problem(`failed  ${event.path}: ${event.message}`);
      return;
  }
  output.event(event);
  switch (event.type) {
    case "file-verified":
      output.info(
        `${direction === "get" ? "received" : "verified"}  ${event.path}  ${
          formatBytes(event.size)
        }  sha256:${shortHash(event.sha256)}`,
      );
      break;
    case "file-start":
      if (event.offset > 0) {
        output.info(
          `resuming  ${event.path}  from ${formatBytes(event.offset)} of ${
            formatBytes(event.size)
          }`,
        );
      }
      break;
    case "file-skipped":
      output.info(
        `already there  ${event.path}  sha256:${shortHash(event.sha256 ?? "")}`,
      );
      break;
  }
}

/** Says that the client retries after `error`, and when. */
export function showRetry(
  output: Output,
  error: unknown,
  waitMs: number,
  retry: number,
  retries: number,
): void {
  const why = error instanceof FilesDeferredError
    ? error.message
    : `connection lost: ${describeLoss(error)}`;
  output.event({
    type: "error",
    message: why,
    fatal: false,
    retryIn: waitMs / 1000,
    retry,
    retries,
  });
  output.problem(
    `${why}; retrying in ${
      (waitMs / 1000).toFixed(1)
    } s (retry ${retry} of ${retries})`,
  );
}

/** Says what the file bytes took on the wire, when compression changed it. */
export function onTheWire(
  totals: { bytes: number; wireBytes: number },
): string {
  return totals.wireBytes === totals.bytes
    ? ""
    : ` (${formatBytes(totals.wireBytes)} on the wire)`;
}

/**
 * Shows the outcome of the run: the `done` event and the summary line;
 * `files` is how many files were offered, when known (sending).
 */
export function showSummary(
  output: Output,
  result: SendResult,
  files: number | null,
  seconds: number,
  direction: Direction,
): void {
  const ok = result.failed === 0;
  output.event({
    type: "done",
    ok,
    files: files ?? result.verified + result.skipped + result.failed,
    verified: result.verified,
    skipped: result.skipped,
    failed: result.failed,
    bytes: result.bytes,
    wireBytes: result.wireBytes,
    seconds: Number(seconds.toFixed(3)),
  });
  const verdict = ok ? "all verified by SHA-256" : `${result.failed} failed`;
  const moved = direction === "get"
    ? `${result.verified} files received and verified`
    : `${result.verified} of ${files} files sent and verified`;
  output.info(
    `${moved}, ${result.skipped} already there, ${result.failed} failed; ` +
      `${formatBytes(result.bytes)}${onTheWire(result)} in ${
        seconds.toFixed(2)
      } s (${formatRate(result.bytes, seconds)}); ${verdict}`,
  );
}
