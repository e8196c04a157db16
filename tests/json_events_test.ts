import assert from "node:assert/strict";
import {
  JSON_PROGRESS_INTERVAL_MS,
  JsonEventWriter,
} from "../lib/cli/json_events.ts";

function collect(): { writer: JsonEventWriter; lines: () => unknown[] } {
  const chunks: Uint8Array[] = [];
  const writer = new JsonEventWriter((bytes) => chunks.push(bytes.slice()));
  const lines = () =>
    chunks.map((chunk) => {
      const text = new TextDecoder().decode(chunk);
      assert.ok(text.endsWith("\n") && !text.slice(0, -1).includes("\n"));
      return JSON.parse(text);
    });
  return { writer, lines };
}

Deno.test("each event is one line with type first and its time", () => {
  const { writer, lines } = collect();
  writer.write({ path: "a\nb", type: "file-failed", message: "x" });
  const [event] = lines() as Record<string, unknown>[];
  assert.deepEqual(Object.keys(event), ["type", "time", "path", "message"]);
  assert.equal(event.path, "a\nb");
  assert.ok(Math.abs(Date.parse(String(event.time)) - Date.now()) < 5000);
});

Deno.test("progress lines are throttled per peer, other events never", () => {
  const { writer, lines } = collect();
  const started = performance.now();
  for (let i = 0; i < 100; i++) {
    writer.write({ type: "progress", peer: "a", bytes: i });
    writer.write({ type: "progress", peer: "b", bytes: i });
    writer.write({ type: "file-verified", peer: "a", path: String(i) });
  }
  const elapsed = performance.now() - started;
  const written = lines() as { type: string; peer: string }[];
  const progress = written.filter((event) => event.type === "progress");
  assert.deepEqual(progress.slice(0, 2).map((event) => event.peer), ["a", "b"]);
  // One line per peer for the burst; a machine that stalled in the middle
  // of it may let one more through for each interval that went by.
  const most = 1 + Math.floor(elapsed / JSON_PROGRESS_INTERVAL_MS);
  for (const peer of ["a", "b"]) {
    const count = progress.filter((event) => event.peer === peer).length;
    assert.ok(count <= most, `${count} lines for ${peer} in ${elapsed} ms`);
  }
  assert.equal(written.length, 100 + progress.length);
});

Deno.test("characters a terminal acts on are JSON escapes, decoding to the same strings", () => {
  const chunks: Uint8Array[] = [];
  const writer = new JsonEventWriter((bytes) => chunks.push(bytes.slice()));
  const name =
    "invoice\u202efdp.exe\u200b \u009b31m \u007f \u2028 \u{e0001} \u0645";
  writer.write({ type: "file-verified", path: name, message: `x\\${name}` });
  const text = new TextDecoder().decode(chunks[0]);
  assert.doesNotMatch(text.slice(0, -1), /[\p{Cc}\p{Cf}\u2028\u2029]/u);
  assert.match(text, /"path":"invoice\\u202efdp\.exe\\u200b \\u009b31m /);
  // Astral format characters as surrogate pairs; letters stay as they are.
  assert.match(text, /\\udb40\\udc01 \u0645"/);
  const event = JSON.parse(text);
  assert.equal(event.path, name);
  assert.equal(event.message, `x\\${name}`);
});
