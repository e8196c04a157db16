import assert from "node:assert/strict";
import type { ProgressEvent } from "../lib/transfer/events.ts";
import { ProgressCounter } from "../lib/transfer/events.ts";
import {
  formatDuration,
  ProgressDisplay,
  REDRAW_INTERVAL_MS,
  renderProgress,
} from "../lib/cli/progress_display.ts";

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

Deno.test("the progress line fits the terminal, keeping the end of the path", () => {
  const long = progress({ path: `${"deep/".repeat(30)}name.bin` });
  for (const columns of [40, 60, 80, 120]) {
    const line = renderProgress(long, 1, columns);
    assert.ok(line.length <= columns, `${line.length} > ${columns}`);
  }
  assert.match(renderProgress(long, 1, 120), /…[a-z/]*name\.bin 60%$/);
  // A single file shows no file count and no second percentage.
  const single = renderProgress(
    progress({ totalFiles: 1, files: 0, path: "big.iso" }),
    0,
    100,
  );
  assert.doesNotMatch(single, /files/);
  assert.match(single, /ETA -:-- {2}big\.iso$/);
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
  for (const text of written) assert.ok(text.startsWith("\r\x1b[2K["), text);
  display.around(() => written.push("a line\n"));
  assert.deepEqual(written.slice(draws, draws + 2), ["\r\x1b[2K", "a line\n"]);
  assert.ok(
    written[draws + 2].startsWith("\r\x1b[2K["),
    "drawn again below the line",
  );
  display.finish();
  assert.equal(written.at(-1), "\r\x1b[2K");
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
