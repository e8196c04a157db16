/**
 * Which peers are installed, and how to install the missing ones.
 *
 * @module
 */

import { has } from "./process.ts";

/** The tools the bench compares with or needs, and whether they work. */
export interface Peers {
  /** `nc` (OpenBSD netcat, which has `-N`). */
  nc: boolean;
  /** `tar`, for `tar c | nc`. */
  tar: boolean;
  /** `sshd`, `ssh`, `ssh-keygen` and `scp`. */
  ssh: boolean;
  /** `rsync` (used over `ssh`). */
  rsync: boolean;
  /** Whether that rsync has `--fsync` (3.2.4 and later). */
  rsyncFsync: boolean;
  /** `iperf3`. */
  iperf3: boolean;
  /** `/usr/bin/time`, for peak memory. */
  time: boolean;
  /** `ip` and `tc`, for the rate-limited link. */
  ip: boolean;
  /** `wormhole` (magic-wormhole, the Python client). */
  wormhole: boolean;
  /** The magic-wormhole mailbox server, as a `twistd3` plugin. */
  mailbox: boolean;
  /** The magic-wormhole transit relay, as a `twistd3` plugin. */
  transitRelay: boolean;
  /** `wormhole-william` (the Go client). */
  wormholeWilliam: boolean;
}

/** Whether a file exists at `path`. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether `rsync --help` lists `--fsync`. */
function rsyncHasFsync(): Promise<boolean> {
  return prints("rsync", ["--help"], "--fsync");
}

/** Whether `command` with `args` exits 0 and prints `text` on stdout. */
async function prints(
  command: string,
  args: string[],
  text: string,
): Promise<boolean> {
  try {
    const output = await new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    return output.success && new TextDecoder().decode(output.stdout)
      .includes(text);
  } catch {
    return false;
  }
}

/** Finds out which peers work here. */
export async function findPeers(): Promise<Peers> {
  const nc = await has("nc", ["-h"]);
  const ssh = await exists("/usr/sbin/sshd") &&
    await has("ssh", ["-V"]) && await has("ssh-keygen", ["-?"]) &&
    await has("scp", []);
  return {
    nc,
    tar: await has("tar", ["--version"]),
    ssh,
    rsync: await has("rsync", ["--version"]),
    rsyncFsync: await rsyncHasFsync(),
    iperf3: await has("iperf3", ["--version"]),
    time: await has("/usr/bin/time", ["-f", "%M", "true"]),
    ip: await has("ip", ["-V"]) && await has("tc", ["-V"]),
    wormhole: await prints("wormhole", ["--version"], "magic-wormhole"),
    // twistd3 exits 0 for a plugin it does not know, without its help text.
    mailbox: await prints("twistd3", ["wormhole-mailbox", "--help"], "Mailbox"),
    transitRelay: await prints("twistd3", ["transitrelay", "--help"], "Relay"),
    wormholeWilliam: await prints("wormhole-william", ["--version"], "version"),
  };
}

/** One line per missing peer: what is missing and the Debian package. */
export function installHints(peers: Peers): string[] {
  const hints: [boolean, string, string][] = [
    [peers.nc, "nc (nc, tar|nc rows)", "netcat-openbsd"],
    [peers.tar, "tar (tar|nc row)", "tar"],
    [peers.ssh, "sshd, ssh, scp (scp and rsync rows)", "openssh-server"],
    [peers.rsync, "rsync (rsync row)", "rsync"],
    [
      peers.rsyncFsync || !peers.rsync,
      "rsync 3.2.4 or later (rsync --fsync row)",
      "rsync",
    ],
    [peers.iperf3, "iperf3 (link ceiling rows)", "iperf3"],
    [peers.time, "/usr/bin/time (peak memory)", "time"],
    [peers.ip, "ip and tc (link scenario)", "iproute2"],
    [peers.wormhole, "wormhole (magic-wormhole row)", "magic-wormhole"],
    [
      peers.mailbox,
      "the magic-wormhole mailbox server (wormhole rows)",
      "python3-magic-wormhole-mailbox-server",
    ],
    [
      peers.transitRelay,
      "the magic-wormhole transit relay (wormhole rows)",
      "magic-wormhole-transit-relay",
    ],
    [
      peers.wormholeWilliam,
      "wormhole-william (wormhole-william row)",
      "wormhole-william",
    ],
  ];
  return hints.filter(([ok]) => !ok).map(([, what, pkg]) =>
    `missing ${what}: sudo apt-get install ${pkg}`
  );
}
