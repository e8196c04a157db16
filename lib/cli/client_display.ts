/**
 * What the client prints: the progress display and what it waits for, a
 * line per file as the server confirms it (or, with `--get`, as it arrives
 * verified) where lines per file are shown, the failures, the retries, and
 * the summary that names what failed; as text for people or as JSON
 * events.
 *
 * @module
 */

import { formatBytes, formatRate, shortHash } from "../common/format.ts";
import { sanitize } from "../protocol/text.ts";
import { ServerBusyError } from "../secure/handshake.ts";
import { FilesDeferredError } from "../transfer/attempts.ts";
import type { TransferEvent } from "../transfer/events.ts";
import { describeLoss } from "../transfer/retry.ts";
import type { SendResult } from "../transfer/send_run.ts";
import type { Output } from "./console_output.ts";
import { cutMiddle, displayWidth } from "./text_width.ts";

/** Which way the client moves files. */
export type Direction = "send" | "get";

/** The width the summary keeps within: the narrowest usual terminal. */
export const SUMMARY_COLUMNS = 80;

/** Failed names the summary lists at most; the others are counted. */
export const SUMMARY_NAMES = 10;

/** What the client says while the server holds its key exchange back. */
export const HELD_BACK_TEXT =
  "the server slows down attempts after wrong codes: waiting";

/** The note for a file being hashed, `number` of `count`. */
function checkingNote(path: string, number: number, count: number) {
  return {
    before: "checking ",
    path,
    after: count > 1 ? `... (${number} of ${count})` : "...",
  };
}

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
    case "handshake":
      output.note({
        before: direction === "get"
          ? "connected; receiving the file list..."
          : "connected; sending the file list...",
      });
      break;
    case "waiting":
      if (output.live) {
        output.note({
          before: HELD_BACK_TEXT,
          since: performance.now() - event.seconds * 1000,
        });
      } else {
        output.info(`${HELD_BACK_TEXT} for its answer`);
      }
      break;
    case "checking":
      output.note(checkingNote(event.path, event.number, event.count));
      break;
    case "file-verified":
      output.detail(
        `${direction === "get" ? "received" : "verified"}  ${event.path}  ${
          formatBytes(event.size)
        }  sha256:${shortHash(event.sha256)}`,
      );
      // A new name is worth a line even where files get none.
      if (event.savedAs !== undefined) {
        output.info(
          `${
            direction === "get" ? "saved as" : "sent as"
          }  ${event.savedAs}  (${
            direction === "get"
              ? `a different ${event.path} is here`
              : `the server has a different ${event.path}`
          })`,
        );
      }
      break;
    case "file-start":
      if (event.offset > 0) {
        output.detail(
          `resuming  ${event.path}  from ${formatBytes(event.offset)} of ${
            formatBytes(event.size)
          }`,
        );
      }
      break;
    case "file-skipped":
      if (event.reason === "different") {
        output.detail(
          `skipped  ${event.path}: a different file with this name is ${
            direction === "get" ? "here" : "on the server"
          }`,
        );
        break;
      }
      output.detail(
        `already there  ${event.path}${
          event.savedAs === undefined ? "" : `  as ${event.savedAs}`
        }  sha256:${shortHash(event.sha256 ?? "")}`,
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
  const busy = error instanceof ServerBusyError;
  const held = error instanceof FilesDeferredError && error.pastRetries;
  const why = error instanceof FilesDeferredError || busy
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
  const seconds = (waitMs / 1000).toFixed(1);
  // Polling a busy server counts as no retry: a count that stood still
  // line after line would say nothing.
  // Files held by the server are waited for past the count of retries,
  // until a connection of this client that it has not seen drop times out.
  output.problem(
    busy
      ? `${why}; trying again in ${seconds} s`
      : held
      ? `${why}; trying again in ${seconds} s, until the server lets them go`
      : `${why}; retrying in ${seconds} s (retry ${retry} of ${retries})`,
  );
  // The rate and time left of before the loss would only mislead.
  output.note({
    before: busy
      ? "waiting for the busy server..."
      : held
      ? "waiting for the server to let go of the files..."
      : `reconnecting, retry ${retry} of ${retries}...`,
    since: performance.now(),
  });
}

/** Says what the file bytes took on the wire, when compression changed it. */
export function onTheWire(
  totals: { bytes: number; wireBytes?: number },
): string {
  return totals.wireBytes === undefined || totals.wireBytes === totals.bytes
    ? ""
    : ` (${formatBytes(totals.wireBytes)} on the wire)`;
}

/**
 * `names` as lines of at most `columns`, after `label`: as many as fit on
 * a line, each cut in the middle if it alone is too long, at most
 * {@link SUMMARY_NAMES} of `total`.
 */
function nameLines(
  label: string,
  names: readonly string[],
  total: number,
  columns: number,
  above = true,
): string[] {
  const lines: string[] = [];
  let line = label;
  const shown = names.slice(0, SUMMARY_NAMES).map((name) =>
    cutMiddle(sanitize(name), columns - 4)
  );
  for (const [i, name] of shown.entries()) {
    const word = i < shown.length - 1 || total > shown.length
      ? `${name},`
      : name;
    if (line !== "  " && displayWidth(`${line} ${word}`) > columns) {
      lines.push(line);
      line = "  ";
    }
    line = line === "  " ? `  ${word}` : `${line} ${word}`;
  }
  if (total > shown.length) {
    const more = `and ${total - shown.length} more${
      above ? " (see above)" : ""
    }`;
    if (displayWidth(`${line} ${more}`) > columns) {
      lines.push(line);
      line = `  ${more}`;
    } else line = `${line} ${more}`;
  }
  lines.push(line);
  return lines;
}

/**
 * The summary of a run for people, each line at most `columns` wide:
 * the count of files in the words the server uses too, the bytes, time
 * and rate, and the names of what failed or was not sent (`unsent`: what
 * the scan of the sources left out).
 */
export function summaryLines(
  result: SendResult,
  files: number | null,
  seconds: number,
  direction: Direction,
  columns: number = SUMMARY_COLUMNS,
  unsent: readonly string[] = [],
): string[] {
  const total = files ?? result.files;
  const moved = `${result.verified}${
    total === undefined ? "" : ` of ${total}`
  } ${
    direction === "get"
      ? "files received and verified"
      : "files sent and verified"
  }`;
  const different = result.different ?? 0;
  const left = different > 0 ? `, ${different} skipped` : "";
  const notSent = unsent.length > 0 ? `, ${unsent.length} not sent` : "";
  const lines = [
    `${moved}, ${result.skipped} already there${left}, ${result.failed} failed${notSent}`,
  ];
  const amount = `${formatBytes(result.bytes)}${onTheWire(result)} in ${
    seconds.toFixed(2)
  } s (${formatRate(result.bytes, seconds)})`;
  const skipped = different === 0 ? [] : nameLines(
    direction === "get"
      ? "Skipped, a different file has the name here:"
      : "Skipped, a different file has the name on the server:",
    result.differentPaths ?? [],
    different,
    columns,
    false,
  );
  if (result.failed === 0 && unsent.length === 0) {
    lines.push(`${amount}; all verified by SHA-256`, ...skipped);
    return lines;
  }
  lines.push(amount, ...skipped);
  if (result.failed > 0) {
    lines.push(
      ...nameLines("Failed:", result.failedPaths, result.failed, columns),
    );
  }
  if (unsent.length > 0) {
    lines.push(
      ...nameLines(
        "Not sent (see the warnings):",
        unsent,
        unsent.length,
        columns,
      ),
    );
  }
  return lines;
}

/**
 * Shows the outcome of the run: the `done` event and the summary; with
 * `--quiet`, the summary only when something failed, on stderr.
 * `files` is how many files were offered, when known (sending).
 */
export function showSummary(
  output: Output,
  result: SendResult,
  files: number | null,
  seconds: number,
  direction: Direction,
  unsent: readonly string[] = [],
): void {
  const ok = result.failed === 0 && unsent.length === 0;
  output.event({
    type: "done",
    ok,
    files: files ?? result.files ??
      result.verified + result.skipped + (result.different ?? 0) +
        result.failed,
    verified: result.verified,
    skipped: result.skipped,
    different: result.different ?? 0,
    failed: result.failed,
    unsent: unsent.length,
    bytes: result.bytes,
    wireBytes: result.wireBytes,
    seconds: Number(seconds.toFixed(3)),
  });
  const lines = summaryLines(
    result,
    files,
    seconds,
    direction,
    SUMMARY_COLUMNS,
    unsent,
  );
  for (const line of lines) {
    if (output.mode === "quiet" && !ok) output.problem(line);
    else output.info(line);
  }
}
