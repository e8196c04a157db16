import assert from "node:assert/strict";
import {
  SUMMARY_COLUMNS,
  SUMMARY_NAMES,
  summaryLines,
} from "../lib/cli/client_display.ts";
import { sessionLine } from "../lib/cli/server_display.ts";
import { displayWidth } from "../lib/cli/text_width.ts";

const GIB = 1024 ** 3;

Deno.test("the summary fits 80 columns, even with large counts", () => {
  const lines = summaryLines(
    {
      verified: 99_998,
      skipped: 100_000,
      failed: 2,
      bytes: 1023 * GIB,
      failedPaths: ["photos/a.jpg", "photos/b.jpg"],
    },
    200_000,
    12_345.678,
    "send",
  );
  assert.deepEqual(lines, [
    "99998 of 200000 files sent and verified, 100000 already there, 2 failed",
    "1023 GiB in 12345.68 s (84.9 MiB/s)",
    "Failed: photos/a.jpg, photos/b.jpg",
  ]);
  const ok = summaryLines(
    { verified: 2000, skipped: 0, failed: 0, bytes: 2 * GIB, failedPaths: [] },
    2000,
    26.31,
    "send",
  );
  assert.deepEqual(ok, [
    "2000 of 2000 files sent and verified, 0 already there, 0 failed",
    "2.0 GiB in 26.31 s (77.8 MiB/s); all verified by SHA-256",
  ]);
  for (const line of [...lines, ...ok]) {
    assert.ok(displayWidth(line) <= SUMMARY_COLUMNS, line);
  }
});

Deno.test("the summary names what failed, wrapped and cut to 80 columns", () => {
  const failedPaths = Array.from(
    { length: 25 },
    (_, i) =>
      `${"a-rather-long-folder-name/".repeat(i === 3 ? 6 : 1)}f${i}.bin`,
  );
  const lines = summaryLines(
    { verified: 5, skipped: 0, failed: 25, bytes: 100, failedPaths },
    30,
    1,
    "send",
  );
  const names = lines.slice(2);
  assert.match(names[0], /^Failed: a-rather-long-folder-name\/f0\.bin,/);
  for (const line of names) {
    assert.ok(displayWidth(line) <= SUMMARY_COLUMNS, line);
  }
  const listed = names.join(" ");
  for (let i = 0; i < SUMMARY_NAMES; i++) {
    assert.match(listed, new RegExp(`f${i}\\.bin`));
  }
  // The long one is cut in its middle, keeping its start and its name.
  assert.match(listed, /a-rather-long-folder-name\/a[^ ]*…[^ ]*\/f3\.bin,/);
  assert.doesNotMatch(listed, /f10\.bin/);
  assert.match(names.at(-1)!, /and 15 more \(see above\)$/);
});

Deno.test("client and server count a session in the same words", () => {
  const client = summaryLines(
    {
      verified: 0,
      skipped: 1998,
      failed: 2,
      bytes: 0,
      failedPaths: ["x", "y"],
    },
    2000,
    1,
    "send",
  )[0];
  const server = sessionLine({
    type: "done",
    ok: false,
    files: 2000,
    verified: 1998,
    skipped: 1998,
    failed: 2,
    bytes: 0,
    seconds: 1,
  }, false);
  assert.equal(
    client,
    "0 of 2000 files sent and verified, 1998 already there, 2 failed",
  );
  assert.ok(
    server.startsWith(
      "done: 0 of 2000 files received and verified, 1998 already there, 2 failed; ",
    ),
    server,
  );
  // Getting files from a sharing server: as many as its manifest had.
  const result = { verified: 3, skipped: 1, failed: 0, bytes: 9 };
  assert.equal(
    summaryLines({ ...result, failedPaths: [], files: 4 }, null, 1, "get")[0],
    "3 of 4 files received and verified, 1 already there, 0 failed",
  );
  assert.equal(
    summaryLines({ ...result, failedPaths: [] }, null, 1, "get")[0],
    "3 files received and verified, 1 already there, 0 failed",
  );
});
