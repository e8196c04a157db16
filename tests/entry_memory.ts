/**
 * What one manifest entry costs to hold, measured in a process of its own
 * run with `--v8-flags=--expose-gc`, so that a full collection leaves only
 * what is held (no timing, no garbage collector's lag):
 *
 *     deno run -A --v8-flags=--expose-gc tests/entry_memory.ts receiver N
 *     deno run -A --v8-flags=--expose-gc tests/entry_memory.ts sender N
 *
 * `receiver`: the real receiving session over loopback TCP, into a
 * temporary folder, holding a manifest of N files in 100 folders once its
 * decisions are out and it waits for the data. `sender`: N scanned
 * entries, their decisions and a run in which every file was sent and
 * confirmed. Prints `{"bytesPerEntry": B}` (JS heap and memory of its
 * own, over what the same process held before). Used by
 * tests/entry_memory_test.ts.
 *
 * @module
 */

import { join } from "node:path";
import { establishChannel } from "../lib/secure/handshake.ts";
import { Destination, DestinationRoot } from "../lib/store/destination.ts";
import { LocalEntries } from "../lib/store/scan.ts";
import { MemoryBudget } from "../lib/transfer/memory_budget.ts";
import { receiveSession } from "../lib/transfer/receiver.ts";
import { Confirmations } from "../lib/transfer/confirmations.ts";
import { SendRun } from "../lib/transfer/send_run.ts";
import {
  type Decision,
  decodeReceiverMessage,
  encodeMessage,
  type Entry,
  FrameType,
  MAX_ENTRIES,
  Role,
} from "../protocol.ts";
import { testCodeScalar } from "./hostile_client.ts";

const gc = (globalThis as { gc?: () => void }).gc;

/** Manifest payload bytes per entry of the last receiver measured. */
let manifestBytesPerEntry = 0;

/** Bytes held now, after full collections. */
async function held(): Promise<number> {
  if (gc === undefined) throw new Error("Run with --v8-flags=--expose-gc");
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const { heapUsed, external } = Deno.memoryUsage();
  return heapUsed + external;
}

/** Makes every file name longer, for a measure of the cost per byte. */
const NAME_PAD = "x".repeat(Number(Deno.env.get("FT_NAME_PAD") ?? 0));

/** Entry `i` of a manifest of files in 100 folders, the folders first. */
function entryAt(i: number): Entry {
  const mtime = 1_700_000_000_000 + i;
  if (i < 100) {
    return { path: `folder-${i}`, kind: "folder", size: 0, mode: 0o755, mtime };
  }
  return {
    path: `folder-${i % 100}/${NAME_PAD}file-${i}.txt`,
    kind: "file",
    size: 512,
    mode: 0o644,
    mtime,
  };
}

/** The receiving session's bytes per entry of a manifest of `count`. */
async function receiver(count: number): Promise<number> {
  const folder = await Deno.makeTempDir({ prefix: "ft-entry-memory-" });
  // A file system that ignores case makes the receiver check each name
  // as that file system compares it too: its costlier case.
  const root = await DestinationRoot.open(
    join(folder, "dest"),
    false,
    Deno.env.get("FT_FOLDS_CASE") === "1"
      ? { ignoresCase: true, ignoresNormalization: true }
      : undefined,
  );
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const password = testCodeScalar();
  // The client's key confirmation goes out with its first record: the
  // server's side of the key exchange ends only once the manifest starts.
  const session = listener.accept().then(async (conn) => {
    const channel = await establishChannel(conn, {
      role: Role.Server,
      password,
      flushBeforeBlocking: true,
    });
    await receiveSession(channel, new Destination(root), {
      emit: () => {},
      limits: { maxEntries: MAX_ENTRIES, maxBytes: 2 ** 50 },
      budget: new MemoryBudget(1024 * 1024 * 1024),
    }).catch(() => {});
    channel.close();
  });
  const client = await establishChannel(
    await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    { role: Role.Client, password },
  );
  const before = await held();
  const perMessage = 4000;
  let payloadBytes = 0;
  for (let start = 0; start < count; start += perMessage) {
    const entries: Entry[] = [];
    for (let i = start; i < Math.min(count, start + perMessage); i++) {
      entries.push(entryAt(i));
    }
    const more = start + perMessage < count;
    const payload = encodeMessage({ type: "manifest", entries, more });
    payloadBytes += payload.length;
    await client.send(FrameType.Control, payload);
  }
  await client.flush();
  for (let decided = 0; decided < count;) {
    const frame = await client.receive();
    if (frame === null) throw new Error("The session ended before deciding");
    const message = decodeReceiverMessage(frame.payload);
    if (message.type === "decisions") decided += message.items.length;
    else if (message.type !== "wait") {
      throw new Error(`The session sent ${JSON.stringify(message)}`);
    }
  }
  // The session now waits for the first file, holding all it holds.
  const bytes = await held() - before;
  client.close();
  await session;
  root.close();
  await Deno.remove(folder, { recursive: true });
  manifestBytesPerEntry = payloadBytes / count;
  return bytes / count;
}

/**
 * The sender's bytes per entry: `count` scanned entries, their decisions
 * and a run in which every file was sent and confirmed.
 */
async function sender(count: number): Promise<number> {
  const before = await held();
  const entries = new LocalEntries();
  for (let i = 0; i < count; i++) {
    const entry = entryAt(i);
    entries.push({
      ...entry,
      source: `/nowhere/${entry.path}`,
      identity: `2049:${1_000_000 + i}`,
    });
  }
  const decisions: Decision[] = [];
  for (let start = 0; start < count; start += 8000) {
    const items: Decision[] = [];
    for (let i = start; i < Math.min(count, start + 8000); i++) {
      items.push(
        i < 100 ? { action: "accept" } : { action: "send", offset: 0 },
      );
    }
    const message = decodeReceiverMessage(encodeMessage({
      type: "decisions",
      start,
      items,
      more: start + 8000 < count,
    }));
    if (message.type === "decisions") decisions.push(...message.items);
  }
  const run = new SendRun(entries, () => {});
  const confirmations = new Confirmations(run);
  for (let i = 100; i < count; i++) {
    const sha256 = i.toString(16).padStart(64, "0");
    const path = entries.path(i);
    run.emit({ type: "file-start", path, size: 512, offset: 0 }, i);
    confirmations.expect(i, sha256);
    run.emit({ type: "file-verified", path, size: 512, sha256 }, i);
  }
  const bytes = await held() - before;
  // Still held when measured.
  if (decisions.length !== count || run.result().verified !== count - 100) {
    throw new Error("The run did not count every file");
  }
  return bytes / count;
}

if (import.meta.main) {
  const [side, given] = Deno.args;
  const count = Number(given ?? 100_000);
  const bytesPerEntry = side === "receiver"
    ? await receiver(count)
    : await sender(count);
  console.log(JSON.stringify({
    bytesPerEntry: Math.round(bytesPerEntry),
    manifestBytesPerEntry: Math.round(manifestBytesPerEntry),
  }));
}
