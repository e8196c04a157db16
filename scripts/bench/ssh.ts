/**
 * scp and rsync over ssh, against an sshd on 127.0.0.1 that the bench
 * starts with fresh keys in a temporary folder and stops again. Both use
 * OpenSSH's default cipher and MAC, as a user would.
 *
 * @module
 */

import { join } from "node:path";
import {
  type Context,
  freePort,
  Launched,
  runChecked,
  waitListening,
} from "./process.ts";
import type { Sample } from "./stats.ts";

/** A running sshd and how to reach it. */
export interface Sshd {
  /** The daemon. */
  process: Launched;
  /** Its port on 127.0.0.1. */
  port: number;
  /** Options for `ssh` that log in with the bench's key. */
  sshOptions: string[];
}

/**
 * Starts `/usr/sbin/sshd -D` with a minimal configuration in a new folder
 * under `ctx.work`, and resolves once a login with the bench's key works.
 */
export async function startSshd(ctx: Context): Promise<Sshd> {
  const dir = join(ctx.work, "sshd");
  await Deno.mkdir(dir, { mode: 0o700 });
  const hostKey = join(dir, "host_ed25519");
  const clientKey = join(dir, "client_ed25519");
  for (const key of [hostKey, clientKey]) {
    await runChecked("ssh-keygen", [
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-f",
      key,
    ]);
  }
  const authorized = join(dir, "authorized_keys");
  await Deno.copyFile(`${clientKey}.pub`, authorized);
  // sshd insists on its privilege separation folder.
  try {
    await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  } catch (error) {
    throw new Error(`cannot create /run/sshd, which sshd needs: ${error}`);
  }
  const port = freePort();
  const config = join(dir, "sshd_config");
  await Deno.writeTextFile(
    config,
    [
      "ListenAddress 127.0.0.1",
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorized}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      `PidFile ${join(dir, "sshd.pid")}`,
      // scp speaks SFTP since OpenSSH 9.0.
      "Subsystem sftp internal-sftp",
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  const process = new Launched(ctx, "sshd", "/usr/sbin/sshd", [
    "-D",
    "-f",
    config,
    "-e",
  ], { measure: false });
  const sshOptions = [
    "-F",
    "/dev/null",
    "-i",
    clientKey,
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "LogLevel=ERROR",
  ];
  try {
    await waitListening(port);
    await runChecked("ssh", [
      ...sshOptions,
      "-p",
      String(port),
      "127.0.0.1",
      "true",
    ]);
  } catch (error) {
    await process.kill();
    throw new Error(`sshd did not work: ${error}\n  ${process.stderr.trim()}`);
  }
  return { process, port, sshOptions };
}

/** Starts `scp` (with `-r` for folders) copying `sources` into `dest`. */
export function launchScp(
  ctx: Context,
  sshd: Sshd,
  sources: string[],
  dest: string,
  recursive: boolean,
): Launched {
  return new Launched(ctx, "scp", "scp", [
    "-q",
    ...(recursive ? ["-r"] : []),
    ...sshd.sshOptions,
    "-P",
    String(sshd.port),
    ...sources,
    `127.0.0.1:${dest}/`,
  ]);
}

/**
 * Starts `rsync -a` over ssh copying `sources` into `dest`, with `extra`
 * options (`--fsync` for the row that makes each file durable); with
 * `remoteRss`, the receiving rsync (under sshd) runs under
 * `/usr/bin/time`, which writes its peak RSS in KiB to that file.
 */
export function launchRsync(
  ctx: Context,
  sshd: Sshd,
  sources: string[],
  dest: string,
  extra: string[] = [],
  remoteRss?: string,
): Launched {
  // rsync splits -e on spaces: the paths in it come from the temp folder.
  const ssh = ["ssh", ...sshd.sshOptions, "-p", String(sshd.port)].join(" ");
  const remote = remoteRss === undefined
    ? []
    : [`--rsync-path=/usr/bin/time -f %M -o ${remoteRss} rsync`];
  return new Launched(ctx, "rsync", "rsync", [
    "-a",
    ...extra,
    ...remote,
    "-e",
    ssh,
    ...sources,
    `127.0.0.1:${dest}/`,
  ]);
}

/**
 * Times one transfer by `launch` into `dest`, which is created first:
 * seconds from its start until it exited with status 0. The sshd side's
 * memory is not measured (one daemon serves every run).
 */
export async function runSshCopy(
  dest: string,
  launch: () => Launched,
): Promise<Sample> {
  await Deno.mkdir(dest, { recursive: true });
  const started = performance.now();
  const copy = launch();
  let seconds: number;
  try {
    await copy.succeed();
    seconds = (performance.now() - started) / 1000;
  } finally {
    await copy.kill();
  }
  return { seconds, rss: [await copy.peakRssKiB(), null] };
}
