/**
 * The sessions behind the examples of `docs/PROTOCOL.md`, section 8: the
 * real sender (`lib/transfer/sender.ts`) against the real receiver
 * (`lib/transfer/receiver.ts`), over loopback TCP, on files in a temporary
 * folder, with the frames each side sends recorded: the client sending to
 * the server, and for 8.6 a sharing server sending to the client. Used by
 * `scripts/spec_vectors.ts`.
 *
 * @module
 */

import { join } from "node:path";
import type { Channel } from "../../lib/secure/channel.ts";
import { establishChannel } from "../../lib/secure/handshake.ts";
import { receiveSession } from "../../lib/transfer/receiver.ts";
import { Destination, DestinationRoot } from "../../lib/store/destination.ts";
import { MemoryBudget } from "../../lib/transfer/memory_budget.ts";
import { sendEntries } from "../../lib/transfer/sender.ts";
import { exchangeProofs } from "../../lib/transfer/send_proofs.ts";
import { SendRun } from "../../lib/transfer/send_run.ts";
import { scanSources } from "../../lib/store/scan.ts";
import {
  type Decision,
  decodeReceiverMessage,
  encodeHello,
  encodeMessage,
  FrameType,
  HELLO_FLAG_SERVER_SENDS,
  MAX_ENTRIES,
  Role,
} from "../../protocol.ts";

/** A frame as one side sent it: `C>` the client, `S>` the server. */
export interface Sent {
  /** Who sent it. */
  dir: "C>" | "S>";
  /** Its type. */
  type: FrameType;
  /** Its payload, copied when it was sent. */
  payload: Uint8Array;
}

/** The frames of each example session, both sides in the order sent. */
export interface Sessions {
  /** 8.2: an empty manifest. */
  empty: Sent[];
  /** 8.1 and 8.4: the folder `photos`. */
  photos: Sent[];
  /** 8.4: a file message for a folder. */
  violation: Sent[];
  /** 8.5: two files with kept data, one resumed. */
  resume: Sent[];
  /** 8.6: a sharing server's folder, got by the client. */
  download: Sent[];
}

/** The mtime of every example file: 2024-05-01 12:00 UTC. */
const MTIME = new Date(1714564800000);

const decoder = new TextDecoder();

/**
 * `channel`, with what is sent through it logged. `wait` messages are left
 * out: they depend on how fast the machine is.
 */
function recorded(channel: Channel, dir: Sent["dir"], log: Sent[]): Channel {
  return new Proxy(channel, {
    get(target, key) {
      if (key === "send") {
        return (type: FrameType, payload: Uint8Array) => {
          if (decoder.decode(payload) !== '{"type":"wait"}') {
            log.push({ dir, type, payload: payload.slice() });
          }
          return target.send(type, payload);
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Files under `root`: a string is a file's content, an object a folder. */
interface Tree {
  [name: string]: string | Tree;
}

async function makeTree(root: string, tree: Tree): Promise<void> {
  await Deno.mkdir(root, { recursive: true });
  for (const [name, value] of Object.entries(tree)) {
    const path = join(root, name);
    if (typeof value === "string") {
      await Deno.writeTextFile(path, value);
      await Deno.chmod(path, 0o644);
      await Deno.utime(path, MTIME, MTIME);
    } else {
      await makeTree(path, value);
    }
  }
  await Deno.chmod(root, 0o755);
  await Deno.utime(root, MTIME, MTIME);
}

type Client = (channel: Channel, sources: string[]) => Promise<void>;

/** The reference client's whole session. */
const referenceClient: Client = async (channel, sources) => {
  const { entries } = await scanSources(sources);
  await sendEntries(channel, new SendRun(entries, () => {}));
};

/**
 * A client that sends the manifest and its proofs as the reference client
 * does, then a file message for entry 4.
 */
const folderAsFile: Client = async (channel, sources) => {
  const { entries } = await scanSources(sources);
  const manifest = [...entries];
  const send = async (message: Parameters<typeof encodeMessage>[0]) => {
    await channel.send(FrameType.Control, encodeMessage(message));
    await channel.flush();
  };
  const receive = async () => {
    for (;;) {
      const frame = await channel.receive();
      if (frame === null) throw new Error("The server closed the connection");
      const message = decodeReceiverMessage(frame.payload);
      if (message.type !== "wait") return message;
    }
  };
  await send({ type: "manifest", more: false, entries: manifest });
  const decisions: Decision[] = [];
  for (;;) {
    const message = await receive();
    if (message.type !== "decisions") continue;
    decisions.push(...message.items);
    if (!message.more) break;
  }
  await exchangeProofs(
    channel,
    entries,
    decisions,
    () => Promise.resolve(undefined),
    receive,
  );
  await send({ type: "file", index: 4, offset: 0 });
  try {
    while (await channel.receive() !== null);
  } catch {
    // The server may reset the connection as it closes it.
  }
};

/**
 * Data an interrupted session left in the staging folder, by the path of
 * its entry.
 */
interface Kept {
  [path: string]: string;
}

/**
 * Leaves `kept` in the staging folder of `root` as an interrupted session
 * of the reference server does: each path's data with its record.
 */
function stage(root: DestinationRoot, kept: Kept): void {
  for (const [path, content] of Object.entries(kept)) {
    const key = root.key(path);
    const { staged, file } = root.staging.create(key);
    file.writeSync(new TextEncoder().encode(content));
    file.close();
    root.staging.writeRecord(key, staged);
  }
}

/**
 * Runs one session in `folder`: the client sends `sources` (under `src`)
 * to a server without --overwrite whose destination holds `existing`, and
 * whose staging folder holds `kept`.
 */
async function session(
  password: bigint,
  folder: string,
  sources: Tree,
  existing: Tree,
  client: Client,
  kept: Kept = {},
): Promise<Sent[]> {
  const src = join(folder, "src"), dst = join(folder, "dst");
  await makeTree(src, sources);
  await makeTree(dst, existing);
  const root = await DestinationRoot.open(dst, false);
  stage(root, kept);
  const log: Sent[] = [];
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = (async () => {
    const conn = await listener.accept();
    const channel = await establishChannel(conn, {
      role: Role.Server,
      password,
      flushBeforeBlocking: true,
    });
    try {
      await receiveSession(
        recorded(channel, "S>", log),
        new Destination(root),
        {
          emit: () => {},
          limits: { maxEntries: MAX_ENTRIES, maxBytes: 2 ** 40 },
          budget: new MemoryBudget(64 * 1024 * 1024),
        },
      );
    } catch (error) {
      if (client === referenceClient) throw error;
    } finally {
      channel.close();
      root.close();
    }
  })();
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
  });
  const channel = await establishChannel(conn, {
    role: Role.Client,
    password,
  });
  try {
    const names = Object.keys(sources).sort().map((name) => join(src, name));
    await client(recorded(channel, "C>", log), names);
  } finally {
    channel.close();
    await server;
  }
  return log;
}

/**
 * Runs one download in `folder`: a server shares `shared` (under `src`)
 * with a client whose folder holds `existing` and whose staging folder
 * holds `kept`, as `server.ts --share` and `client.ts --get` do.
 */
async function download(
  password: bigint,
  folder: string,
  shared: Tree,
  existing: Tree,
  kept: Kept,
): Promise<Sent[]> {
  const src = join(folder, "src"), dst = join(folder, "dst");
  await makeTree(src, shared);
  await makeTree(dst, existing);
  const root = await DestinationRoot.open(dst, false);
  stage(root, kept);
  const names = Object.keys(shared).sort().map((name) => join(src, name));
  const { entries } = await scanSources(names);
  const log: Sent[] = [];
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = (async () => {
    const conn = await listener.accept();
    const channel = await establishChannel(conn, {
      role: Role.Server,
      password,
      flushBeforeBlocking: true,
      serverSends: true,
    });
    try {
      const run = new SendRun(entries, () => {});
      await sendEntries(recorded(channel, "S>", log), run, "Client");
    } finally {
      channel.close();
    }
  })();
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
  });
  const channel = await establishChannel(conn, {
    role: Role.Client,
    password,
    serverSends: true,
  });
  try {
    await receiveSession(recorded(channel, "C>", log), new Destination(root), {
      emit: () => {},
      limits: { maxEntries: MAX_ENTRIES, maxBytes: 2 ** 40 },
      budget: new MemoryBudget(512 * 1024 * 1024),
      peer: "Server",
    });
  } finally {
    channel.close();
    root.close();
    await server;
  }
  return log;
}

/** Runs the sessions of the examples of section 8. */
export async function runSessions(password: bigint): Promise<Sessions> {
  const folder = await Deno.makeTempDir({ prefix: "spec_vectors_" });
  try {
    const photos = {
      photos: {
        "a.txt": "hello\n",
        "b.txt": "world\n",
        "empty.txt": "",
        sub: { "c.txt": "new file\n" },
      },
    };
    const there = {
      photos: { "a.txt": "hello\n", "b.txt": "old world\n" },
    };
    const run = (
      name: string,
      from: Tree,
      into: Tree,
      client: Client,
      kept?: Kept,
    ) => session(password, join(folder, name), from, into, client, kept);
    return {
      empty: await run("empty", {}, {}, referenceClient),
      photos: await run("photos", photos, there, referenceClient),
      violation: await run("violation", photos, there, folderAsFile),
      resume: await run(
        "resume",
        { "draft.txt": "new text\n", "notes.txt": "0123456789\n" },
        {},
        referenceClient,
        { "draft.txt": "old", "notes.txt": "0123" },
      ),
      download: await download(
        password,
        join(folder, "download"),
        photos,
        { photos: { "a.txt": "hello\n" } },
        { "photos/sub/c.txt": "new" },
      ),
    };
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

/**
 * A JSON message wrapped for reading as the document shows it: the
 * objects of its one array of objects each on a line of their own.
 */
function wrapJson(json: string): string[] {
  const open = json.indexOf("[{");
  if (open === -1) return [json];
  const items: string[] = [];
  let depth = 0, start = open + 1, inString = false, at = open + 1;
  for (; at < json.length; at++) {
    const c = json[at];
    if (inString) {
      if (c === "\\") at++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) {
      items.push(json.slice(start, at + 1));
      start = at + 2;
    } else if (c === "]" && depth === 0) break;
  }
  const lines = items.map((item, i) =>
    `     ${item}${i < items.length - 1 ? "," : json.slice(at)}`
  );
  return [json.slice(0, open + 1), ...lines];
}

/**
 * The lines of a transcript, each frame shown by its plaintext: with
 * `handshake`, from the hellos on (with `serverSends`, those of a
 * download), else from the first record; with `closes`, up to the end of
 * the connection, which the receiver closes first (the server, unless
 * `serverSends`).
 */
export function transcript(
  frames: readonly Sent[],
  { handshake = false, closes = true, serverSends = false } = {},
): string[] {
  const flags = serverSends ? HELLO_FLAG_SERVER_SENDS : 0;
  const lines = handshake
    ? [
      `C> hello ${hexOf(encodeHello(Role.Client, flags))}`,
      `S> hello ${hexOf(encodeHello(Role.Server, flags))}`,
      "C> [handshake] pA",
      "S> [handshake] pB cB",
      "C> [handshake] cA",
    ]
    : [];
  for (const frame of frames) {
    if (frame.type === FrameType.Data) {
      lines.push(`${frame.dir} [data] ${hexOf(frame.payload)}`);
    } else {
      const [first, ...rest] = wrapJson(decoder.decode(frame.payload));
      lines.push(`${frame.dir} ${first}`, ...rest);
    }
  }
  if (closes) {
    lines.push(
      serverSends
        ? "   (client closes; server closes)"
        : "   (server closes; client closes)",
    );
  }
  return lines;
}

function hexOf(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}
