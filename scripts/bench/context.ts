/**
 * What the scenarios share in one bench run: the options, the peers, the
 * scratch folder with the source files made so far, and the sshd.
 *
 * @module
 */

import { join } from "node:path";
import type { Context } from "./process.ts";
import type { Peers } from "./peers.ts";
import { type Sshd, startSshd } from "./ssh.ts";
import {
  hashFile,
  type Manifest,
  removeAll,
  writeRandomFile,
} from "./files.ts";

/** The bench's options, from its command line. */
export interface Options {
  /** Alternating runs per scenario. */
  runs: number;
  /** Size of the large file in MiB. */
  sizeMiB: number;
  /** Runs of scp in the tree scenario. */
  scpRuns: number;
  /** Files in the tree scenario. */
  treeFiles: number;
  /** Clients at once in the many scenario. */
  clients: number;
  /** MiB each of those clients sends. */
  clientMiB: number;
}

/** A random file to send, in the scratch folder. */
export interface SourceFile {
  /** Its path. */
  path: string;
  /** Its name. */
  name: string;
  /** Its size in bytes. */
  bytes: number;
  /** Resolves to a manifest of it alone, with its hash. */
  manifest(): Promise<Manifest>;
}

/** Shared state of one bench run. */
export interface Bench extends Context {
  /** The options. */
  options: Options;
  /** The peers found. */
  peers: Peers;
  /** Median MB/s of one client in the file scenario, once it ran. */
  fileMegabytesPerSecond: number | null;
  /** The sshd, started on first use, or why there is none. */
  sshd(): Promise<Sshd | string>;
  /** A random file of `bytes`, made on first use. */
  sourceFile(bytes: number): Promise<SourceFile>;
  /** Deletes the file made by {@link Bench.sourceFile} for `bytes`. */
  dropSourceFile(bytes: number): Promise<void>;
  /** Stops the sshd, if it runs. */
  close(): Promise<void>;
}

/** Formats `bytes` as MiB or GiB for names and headings. */
export function sizeLabel(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

/** Shared state for a bench run in scratch folder `work`. */
export function createBench(
  work: string,
  options: Options,
  peers: Peers,
): Bench {
  const files = new Map<number, Promise<SourceFile>>();
  let sshd: Promise<Sshd | string> | null = null;
  const bench: Bench = {
    work,
    useTime: peers.time,
    options,
    peers,
    fileMegabytesPerSecond: null,
    sshd() {
      if (!peers.ssh) return Promise.resolve("sshd, ssh or scp is missing");
      sshd ??= startSshd(bench).catch((error) => String(error));
      return sshd;
    },
    sourceFile(bytes) {
      let made = files.get(bytes);
      if (!made) {
        made = (async () => {
          const name = `random-${sizeLabel(bytes).replace(" ", "")}.bin`;
          const dir = join(work, `source-${bytes}`);
          await Deno.mkdir(dir);
          const path = join(dir, name);
          console.log(`Writing a ${sizeLabel(bytes)} random file...`);
          await writeRandomFile(path, bytes);
          let hash: Promise<string> | null = null;
          return {
            path,
            name,
            bytes,
            manifest: async () => {
              hash ??= hashFile(path);
              return new Map([[name, { size: bytes, sha256: await hash }]]);
            },
          };
        })();
        files.set(bytes, made);
      }
      return made;
    },
    async dropSourceFile(bytes) {
      const made = files.get(bytes);
      if (!made) return;
      files.delete(bytes);
      await removeAll(join(work, `source-${bytes}`));
    },
    async close() {
      const running = await sshd;
      if (running && typeof running !== "string") await running.process.kill();
    },
  };
  return bench;
}
