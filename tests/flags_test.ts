import assert from "node:assert/strict";
import { UsageError } from "../lib/common/errors.ts";
import {
  parseCompress,
  parseCount,
  parseDuration,
  parseSize,
} from "../lib/cli/flags.ts";

Deno.test("counts are whole numbers within their bound", () => {
  assert.equal(parseCount("0", "--n", 10), 0);
  assert.equal(parseCount("10", "--n", 10), 10);
  for (const bad of ["11", "-1", "1.5", "", "x", "1e3"]) {
    assert.throws(() => parseCount(bad, "--n", 10), (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, "--n takes a whole number from 0 to 10");
      return true;
    });
  }
});

Deno.test("durations take a unit, or the flag's default one", () => {
  assert.equal(parseDuration("30", "--t"), 30);
  assert.equal(parseDuration("1.5m", "--t"), 90);
  assert.equal(parseDuration("12h", "--t"), 43_200);
  assert.equal(parseDuration("7", "--age", "d"), 604_800);
  assert.equal(parseDuration("45s", "--age", "d"), 45);
  for (const bad of ["0", "0.5", "7w", "", "-3", "s"]) {
    assert.throws(() => parseDuration(bad, "--t"), UsageError);
  }
  assert.throws(() => parseDuration("7w", "--age", "d"), /in days/);
});

Deno.test("sizes take K, M, G or T, in powers of 1024", () => {
  assert.equal(parseSize("512", "--max-size"), 512);
  assert.equal(parseSize("2M", "--max-size"), 2 * 1024 * 1024);
  assert.equal(parseSize("1.5g", "--max-size"), 1.5 * 2 ** 30);
  assert.equal(parseSize("2TiB", "--max-size"), 2 * 2 ** 40);
  for (const bad of ["5X", "", "-1", "M", "1e9"]) {
    assert.throws(() => parseSize(bad, "--max-size"), UsageError);
  }
});

Deno.test("--compress takes auto, on or off, and only where it applies", () => {
  assert.equal(parseCompress(undefined, true, ""), "auto");
  assert.equal(parseCompress(undefined, false, ""), "auto");
  for (const mode of ["auto", "on", "off"]) {
    assert.equal(parseCompress(mode, true, ""), mode);
  }
  for (const bad of ["", "yes", "ON", "zstd"]) {
    assert.throws(
      () => parseCompress(bad, true, ""),
      (error: Error) =>
        error instanceof UsageError &&
        error.message ===
          `--compress takes auto, on, off, not ${JSON.stringify(bad)}`,
    );
  }
  assert.throws(
    () => parseCompress("on", false, "only applies when sending"),
    /^UsageError: --compress only applies when sending$/,
  );
});
