/**
 * Where a connection comes from, as the server's limits see it: one IPv4
 * address, or for IPv6 the /64 that one host commonly owns, grouped further
 * into the /56 and /48 that one site commonly owns.
 *
 * @module
 */

/**
 * The keys of the source of `address`, finest first: just the address for
 * IPv4 (also when a dual-stack listener shows it as `::ffff:a.b.c.d`), and
 * its /64, /56 and /48 prefixes for IPv6, such as `2001:db8:1:2::/64`,
 * `2001:db8:1:0::/56` and `2001:db8:1::/48`. Text that is not an IP address
 * is its own single key.
 */
export function sourceKeys(address: string): string[] {
  const groups = ipv6Groups(address);
  if (groups === null) return [address];
  if (
    groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff
  ) {
    const [high, low] = [groups[6], groups[7]];
    return [[high >> 8, high & 0xff, low >> 8, low & 0xff].join(".")];
  }
  const hex = groups.map((group) => group.toString(16));
  const site = hex.slice(0, 3).join(":");
  return [
    `${site}:${hex[3]}::/64`,
    `${site}:${(groups[3] & 0xff00).toString(16)}::/56`,
    `${site}::/48`,
  ];
}

/** The finest key of the source of `address` (see {@link sourceKeys}). */
export function sourceKey(address: string): string {
  return sourceKeys(address)[0];
}

/** The eight 16-bit groups of an IPv6 address, or null for anything else. */
function ipv6Groups(address: string): number[] | null {
  if (!address.includes(":")) return null;
  // A zone, as in fe80::1%eth0, names the interface, not the host.
  let text = address.replace(/%.*$/, "");
  const dotted = text.match(
    /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/,
  );
  if (dotted) {
    const bytes = dotted.slice(2).map(Number);
    if (bytes.some((byte) => byte > 255)) return null;
    text = `${dotted[1]}${((bytes[0] << 8) | bytes[1]).toString(16)}:${
      ((bytes[2] << 8) | bytes[3]).toString(16)
    }`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => part === "" ? [] : part.split(":");
  const left = parse(halves[0]);
  const right = halves.length === 2 ? parse(halves[1]) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const parts = [...left, ...Array(missing).fill("0"), ...right];
  if (parts.some((part) => !/^[0-9a-f]{1,4}$/i.test(part))) return null;
  return parts.map((part) => parseInt(part, 16));
}
