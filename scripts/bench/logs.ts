/**
 * A compressible file for the compression scenario: web server access
 * logs in the combined format, as nginx writes them, made up from a fixed
 * seed (clients, paths, statuses, sizes, referrers, user agents and times
 * drawn with skewed odds, as real traffic has them), and the ratio zstd
 * level 1 gets on it, per 1 MiB record as the sender compresses.
 *
 * @module
 */

import { writeAll } from "../../lib/common/write_all.ts";
import { compressRecord } from "../../lib/transfer/zstd_records.ts";

const MiB = 1024 * 1024;

/** A small deterministic generator (mulberry32). */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PATHS = [
  "/",
  "/index.html",
  "/login",
  "/logout",
  "/search?q=",
  "/cart",
  "/checkout",
  "/api/v1/orders/",
  "/api/v1/users/",
  "/api/v1/items/",
  "/api/v1/items/{id}/reviews",
  "/static/js/app.{id}.js",
  "/static/css/main.css",
  "/images/products/{id}.jpg",
  "/favicon.ico",
  "/robots.txt",
  "/health",
  "/metrics",
];
const AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
  "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
  "curl/8.5.0",
  "python-requests/2.32.3",
  "Prometheus/2.55.1",
  "Googlebot/2.1 (+http://www.google.com/bot.html)",
];
const REFERRERS = [
  "-",
  "https://shop.example.com/",
  "https://shop.example.com/cart",
  "https://www.google.com/",
  "https://shop.example.com/search?q=lamp",
];
const STATUSES = [200, 200, 200, 200, 200, 200, 304, 301, 404, 500];
const MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(" ");

/** The nth of `items`, most often one of the first (a skewed choice). */
function skewed<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(items.length * random() ** 2)];
}

/** Bytes of distinct log lines; the file repeats them. */
const DISTINCT_BYTES = 64 * MiB;

/** `bytes` bytes of log lines, ending with a whole line. */
function logLines(bytes: number): Uint8Array {
  const random = generator(20261121);
  const clients = Array.from(
    { length: 4000 },
    () =>
      `${skewed([10, 172, 192, 81, 93], random)}.${
        Math.floor(random() * 256)
      }.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`,
  );
  const sizes = PATHS.map(() => 200 + Math.floor(random() * 40_000));
  let time = Date.UTC(2026, 10, 21, 0, 0, 0);
  const encoder = new TextEncoder();
  const out = new Uint8Array(bytes);
  let done = 0;
  while (done < bytes - 4096) {
    let text = "";
    while (text.length < MiB) {
      time += Math.floor(random() * 40);
      const at = new Date(time);
      const stamp = `${String(at.getUTCDate()).padStart(2, "0")}/${
        MONTHS[at.getUTCMonth()]
      }/${at.getUTCFullYear()}:${at.toISOString().slice(11, 19)} +0000`;
      const index = Math.floor(PATHS.length * random() ** 1.5);
      const path = PATHS[index].replace(
        "{id}",
        String(Math.floor(random() * 5000)),
      ) + (index > 0 && /[/=]$/.test(PATHS[index])
        ? String(Math.floor(random() * 100_000))
        : "");
      const status = STATUSES[Math.floor(random() * STATUSES.length)];
      const size = status === 304
        ? 0
        : sizes[index] + Math.floor(random() * 100);
      const method = path.startsWith("/api/") && random() < 0.2
        ? "POST"
        : "GET";
      text += `${
        skewed(clients, random)
      } - - [${stamp}] "${method} ${path} HTTP/1.1" ${status} ${size} "${
        skewed(REFERRERS, random)
      }" "${skewed(AGENTS, random)}" rt=${(random() * 0.3).toFixed(3)}\n`;
    }
    const encoded = encoder.encode(text);
    const end = encoded.lastIndexOf(10, bytes - done - 1);
    const line = encoded.subarray(0, end + 1);
    out.set(line, done);
    done += line.length;
  }
  return out.subarray(0, done);
}

/**
 * Writes `bytes` bytes of log lines to `path`: 64 MiB of distinct lines,
 * repeated. Each record is compressed on its own, so the repetition, 64
 * times farther apart than a record is long, gives zstd nothing.
 */
export async function writeLogFile(path: string, bytes: number): Promise<void> {
  const lines = logLines(Math.min(bytes, DISTINCT_BYTES));
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  for (let done = 0; done < bytes;) {
    const length = Math.min(lines.length, bytes - done);
    await writeAll(file, lines.subarray(0, length));
    done += length;
  }
}

/**
 * The ratio zstd level 1 gets on the file at `path`, compressing it in
 * records of 1 MiB as the sender does: its size over the total of the
 * compressed records.
 */
export async function zstdRatio(path: string): Promise<number> {
  using file = await Deno.open(path);
  const record = new Uint8Array(MiB);
  let raw = 0;
  let compressed = 0;
  for (;;) {
    let filled = 0;
    while (filled < record.length) {
      const count = await file.read(record.subarray(filled));
      if (count === null) break;
      filled += count;
    }
    if (filled === 0) break;
    raw += filled;
    compressed += compressRecord(record.subarray(0, filled), 1)?.length ??
      filled;
    if (filled < record.length) break;
  }
  return raw / compressed;
}
