import assert from "node:assert/strict";
import type { ProgressEvent } from "../lib/transfer/events.ts";
import { ProgressCounter } from "../lib/transfer/events.ts";
import {
  formatDuration,
  MAX_LINES,
  ProgressDisplay,
  REDRAW_INTERVAL_MS,
  renderProgress,
  UNKNOWN_COLUMNS,
} from "../lib/cli/progress_display.ts";
import { renderNote } from "../lib/cli/progress_line.ts";
import { cutMiddle, displayWidth } from "../lib/cli/text_width.ts";

function progress(fields: Partial<ProgressEvent> = {}): ProgressEvent {
  return {
    type: "progress",
    path: "photos/beach.jpg",
    fileBytes: 3 * 1024 * 1024,
    fileSize: 5 * 1024 * 1024,
    bytes: 1024 ** 3,
    totalBytes: 4 * 1024 ** 3,
    files: 3,
    totalFiles: 120,
    transferred: 1024 ** 3,
    ...fields,
  };
}

Deno.test("durations read as m:ss or h:mm:ss", () => {
  assert.equal(formatDuration(0), "0:00");
  assert.equal(formatDuration(59.6), "1:00");
  assert.equal(formatDuration(754), "12:34");
  assert.equal(formatDuration(3 * 3600 + 5), "3:00:05");
});

Deno.test("the progress line shows file, bytes of all, rate, time left and files", () => {
  const line = renderProgress(progress(), 100 * 1024 * 1024, 160);
  assert.match(line, /^\[#####-+\] +25%/);
  assert.match(line, /1\.0 GiB of 4\.0 GiB/);
  assert.match(line, /100 MiB\/s/);
  // 3 GiB left at 100 MiB/s.
  assert.match(line, /ETA 0:31/);
  assert.match(line, /3 of 120 files/);
  assert.match(line, /photos\/beach\.jpg 60%$/);
});

Deno.test("the progress line fits the terminal, cutting the path in its middle", () => {
  const long = progress({ path: `photos/${"deep/".repeat(30)}name.bin` });
  for (const columns of [40, 60, 80, 120]) {
    const line = renderProgress(long, 1, columns);
    assert.ok(line.length <= columns, `${line.length} > ${columns}`);
  }
  // The start (where the files differ by folder) and the end (the name and
  // its extension) both stay.
  assert.match(
    renderProgress(long, 1, 120),
    / {2}photos\/d[a-z/]*…[a-z/]*name\.bin 60%$/,
  );
  // A single file shows no file count and no second percentage.
  const single = renderProgress(
    progress({ totalFiles: 1, files: 0, path: "big.iso" }),
    0,
    100,
  );
  assert.doesNotMatch(single, /files/);
  assert.match(single, /ETA -:-- {2}big\.iso$/);
});

Deno.test("a narrow terminal leaves out parts whole: the count of files keeps its word", () => {
  const event = progress({ path: "photos/2026/summer/beach.jpg" });
  for (let columns = 20; columns <= 200; columns++) {
    const line = renderProgress(event, 100 * 1024 * 1024, columns);
    assert.ok(displayWidth(line) <= columns, `${line} > ${columns}`);
    // Never a part cut short, such as "3 of 120 fi".
    assert.doesNotMatch(line, /of 120(?! files)/, line);
    if (columns >= 30) assert.match(line, /3 of 120 files/, line);
  }
  assert.equal(
    renderProgress(event, 100 * 1024 * 1024, 59),
    " 25%  1.0 GiB of 4.0 GiB  ETA 0:31  3 of 120 files",
  );
  // Two columns for each wide character: the line still fits.
  const wide = progress({ path: "写真/二〇二六年の夏の海辺の写真.jpg" });
  for (const columns of [60, 80, 100]) {
    const line = renderProgress(wide, 1, columns);
    assert.ok(displayWidth(line) <= columns, `${line} > ${columns}`);
  }
});

Deno.test("names are cut in the middle by display width", () => {
  assert.equal(cutMiddle("abcdefghijklmnopqrstuvwxyz", 11), "abcd…uvwxyz");
  assert.equal(cutMiddle("short", 11), "short");
  assert.equal(displayWidth("写真"), 4);
  assert.ok(displayWidth(cutMiddle("写真写真写真写真写真", 9)) <= 9);
});

Deno.test("a note takes the place of the rate and time left, and counts its seconds", () => {
  const now = 100_000;
  const line = renderProgress(
    progress(),
    100,
    160,
    { before: "reconnecting, retry 1 of 5...", since: now - 3_400 },
    now,
  );
  assert.match(
    line,
    / 25% {2}1\.0 GiB of 4\.0 GiB {2}reconnecting, retry 1 of 5\.\.\. \(3 s so far\) {2}3 of 120 files {2}photos\/beach\.jpg 60%$/,
  );
  assert.doesNotMatch(line, /ETA|B\/s/);
  const note = renderNote(
    { before: "checking ", path: `${"a/".repeat(40)}big.bin`, after: "..." },
    40,
    now,
  );
  assert.ok(displayWidth(note) <= 40, note);
  assert.match(note, /^checking a\/a\/[a/]*…[a/]*big\.bin\.\.\.$/);
});

Deno.test("the display redraws in place, at most ten times a second", () => {
  const written: string[] = [];
  const display = new ProgressDisplay({
    write: (text) => written.push(text),
    columns: () => 200,
    escapes: true,
  });
  const started = performance.now();
  for (let i = 0; i < 50; i++) display.update(progress({ transferred: i }));
  const elapsed = performance.now() - started;
  // One draw for a burst of updates; a machine that stalled in the middle
  // of the burst may draw once more for each interval that went by.
  const draws = written.length;
  assert.ok(
    draws >= 1 && draws <= 1 + Math.floor(elapsed / REDRAW_INTERVAL_MS),
    `${draws} draws in ${elapsed} ms`,
  );
  for (const text of written) assert.ok(text.startsWith("\r\x1b[J["), text);
  display.around(() => written.push("a line\n"));
  assert.deepEqual(written.slice(draws, draws + 2), ["\r\x1b[J", "a line\n"]);
  assert.ok(
    written[draws + 2].startsWith("\r\x1b[J["),
    "drawn again below the line",
  );
  display.finish();
  assert.equal(written.at(-1), "\r\x1b[J");
});

Deno.test("a narrowed terminal's rewrapped line is erased whole on the next draw", () => {
  const written: string[] = [];
  let columns = 200;
  const display = new ProgressDisplay({
    write: (text) => written.push(text),
    columns: () => columns,
    escapes: true,
  });
  display.update(progress());
  const first = written.at(-1)!;
  const width = displayWidth(first.slice("\r\x1b[J".length));
  assert.ok(width > 100 && width < 200, first);
  // The terminal rewrapped the line onto as many rows as 60 columns take.
  columns = 60;
  display.redraw();
  const rows = Math.ceil(width / 60);
  const again = written.at(-1)!;
  assert.ok(again.startsWith(`\x1b[${rows - 1}A\r\x1b[J`), again);
  assert.ok(displayWidth(again.slice(again.indexOf("J") + 1)) < 60, again);
  // Back to one row: the next draw goes up no further than its start.
  display.redraw();
  assert.ok(written.at(-1)!.startsWith("\r\x1b[J"), written.at(-1));
  display.finish();
});

Deno.test("a terminal that reports 0 columns is drawn and erased as 80 wide", () => {
  const written: string[] = [];
  const display = new ProgressDisplay({
    write: (text) => written.push(text),
    columns: () => 0,
    escapes: true,
  });
  display.note({ before: "connected; sending the file list..." });
  display.update(progress());
  display.redraw();
  for (const text of written) {
    // Erasing one line goes up no row: counted at 0 columns, each
    // character would have been a row, and the erase would take the
    // lines above with it.
    assert.ok(text.startsWith("\r\x1b[J"), JSON.stringify(text));
    const shown = text.slice("\r\x1b[J".length);
    assert.ok(displayWidth(shown) < UNKNOWN_COLUMNS, shown);
  }
  display.finish();
  assert.equal(written.at(-1), "\r\x1b[J");
});

Deno.test("each transfer has its own line, and a line goes when its transfer ends", () => {
  const written: string[] = [];
  const display = new ProgressDisplay({
    write: (text) => written.push(text),
    columns: () => 120,
    escapes: true,
  });
  display.update(progress({ path: "a.bin" }), "peer1", "[peer1] ");
  display.redraw();
  display.note({ before: "receiving the file list..." }, "peer2", "[peer2] ");
  display.redraw();
  const both = written.at(-1)!;
  assert.ok(both.startsWith("\r\x1b[J[peer1] ["), both);
  assert.match(both, /\n\[peer2\] receiving the file list\.\.\.$/);
  display.remove("peer1");
  const one = written.at(-1)!;
  // Up from the second line to the first, then only peer2's line.
  assert.equal(one, "\x1b[1A\r\x1b[J[peer2] receiving the file list...");
  // More transfers than lines: the last line counts the others.
  for (let i = 0; i < MAX_LINES + 3; i++) {
    display.note({ before: "receiving the file list..." }, `p${i}`, `[p${i}] `);
  }
  display.redraw();
  const many = written.at(-1)!.split("\n");
  assert.equal(many.length, MAX_LINES);
  assert.equal(many.at(-1), `… and ${MAX_LINES + 4 - (MAX_LINES - 1)} more`);
  display.finish();
});

Deno.test("without escape codes the line is redrawn with carriage returns", () => {
  const written: string[] = [];
  const display = new ProgressDisplay({
    write: (text) => written.push(text),
    columns: () => 100,
    escapes: false,
  });
  display.update(progress());
  display.finish();
  assert.ok(written.length === 2);
  for (const text of written) assert.ok(!text.includes("\x1b"), text);
  assert.match(written[1], /^\r +\r$/, "blanked with spaces");
  // Several transfers: the one that changed last has the single line.
  display.update(progress({ path: "one.bin" }), "1", "[1] ");
  display.redraw();
  display.update(progress({ path: "two.bin" }), "2", "[2] ");
  display.redraw();
  assert.match(written.at(-1)!, /^\r\[2\] .*two\.bin/);
  assert.doesNotMatch(written.at(-1)!, /one\.bin|\n/);
  display.finish();
});

Deno.test("progress counts resumed, sent and settled bytes once each", () => {
  const events: ProgressEvent[] = [];
  const files = [
    { path: "a", kind: "file", size: 100 },
    { path: "b", kind: "file", size: 50 },
    { path: "dir", kind: "folder", size: 0 },
  ];
  const counter = new ProgressCounter(files, (event) => {
    if (event.type === "progress") events.push(event);
  });
  counter.start(0, "a", 40);
  counter.add(10);
  assert.equal(events.length, 1);
  assert.equal(events[0].bytes, 50);
  assert.equal(events[0].transferred, 10);
  assert.equal(events[0].fileBytes, 50);
  counter.settle(0);
  counter.settle(0);
  counter.start(1, "b", 0);
  const now = counter.snapshot();
  assert.equal(now.bytes, 100);
  assert.equal(now.files, 1);
  assert.equal(now.totalBytes, 150);
  assert.equal(now.totalFiles, 2);
  assert.equal(now.path, "b");
  // Restarted from scratch on another connection: counted again from 0.
  counter.start(1, "b", 0);
  counter.settle(1);
  assert.equal(counter.snapshot().bytes, 150);
  assert.equal(counter.snapshot().files, 2);
});

Deno.test("the progress line shows bidi, zero-width and control characters escaped", () => {
  const line = renderProgress(
    progress({ path: "docs/invoice\u202efdp.exe\u200b\u0085" }),
    0,
    200,
  );
  assert.doesNotMatch(line, /[\p{Cc}\p{Cf}\u2028\u2029]/u);
  assert.match(line, /docs\/invoice\\u202efdp\.exe\\u200b\\u0085 60%$/);
});
