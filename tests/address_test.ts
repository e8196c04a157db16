import assert from "node:assert/strict";
import {
  formatHostPort,
  listeningFamilies,
  parseHostPort,
  parsePort,
  reachableAddresses,
} from "../lib/net/address.ts";

Deno.test("HOST[:PORT] parsing, IPv4, names and IPv6", () => {
  assert.deepEqual(parseHostPort("localhost"), {
    host: "localhost",
    port: 65432,
  });
  assert.deepEqual(parseHostPort("10.0.0.5:7000"), {
    host: "10.0.0.5",
    port: 7000,
  });
  assert.deepEqual(parseHostPort("[::1]:7000"), { host: "::1", port: 7000 });
  assert.deepEqual(parseHostPort("[fe80::1]"), {
    host: "fe80::1",
    port: 65432,
  });
  assert.deepEqual(parseHostPort("::1"), { host: "::1", port: 65432 });
  assert.deepEqual(parseHostPort("fe80::1%eth0"), {
    host: "fe80::1%eth0",
    port: 65432,
  });
  // A port after a bare IPv6 address: the way out is brackets.
  assert.throws(
    () => parseHostPort("::1:33343"),
    /^UsageError: "::1:33343" is not an IPv6 address; with a port, put the address in brackets: \[::1\]:33343$/,
  );
  // Both readings are addresses: brackets say which.
  assert.throws(
    () => parseHostPort("fe80::1:443"),
    /^UsageError: "fe80::1:443" is an IPv6 address, or one and a port: write \[fe80::1:443\] or \[fe80::1\]:443$/,
  );
  assert.deepEqual(parseHostPort("[fe80::1:443]"), {
    host: "fe80::1:443",
    port: 65432,
  });
  assert.deepEqual(parseHostPort("2001:db8::1"), {
    host: "2001:db8::1",
    port: 65432,
  });
  assert.throws(() => parseHostPort("::1]@evil.example/["), /is not HOST/);
  assert.throws(
    () => parseHostPort("127.0.0.1:33343:1"),
    /^UsageError: "127\.0\.0\.1:33343:1" is not HOST, HOST:PORT or an IPv6 address$/,
  );
  assert.throws(() => parseHostPort("host:99999"), /out of range/);
  assert.throws(() => parseHostPort("host:abc"), /Invalid port "abc"/);
  assert.throws(() => parseHostPort("[::1"), /Missing \]/);
  assert.throws(() => parseHostPort(":80"), /Empty host/);
  assert.throws(() => parsePort("0"), /out of range/);
  assert.equal(parsePort("0", true), 0);
  assert.equal(formatHostPort("::1", 1), "[::1]:1");
  assert.equal(formatHostPort("a", 1), "a:1");
});

Deno.test("reachable addresses list loopback last", () => {
  const addresses = reachableAddresses("0.0.0.0");
  assert.ok(addresses.includes("127.0.0.1"));
  assert.equal(addresses.at(-1), "127.0.0.1");
  assert.ok(addresses.every((address) => !address.includes(":")));
  assert.deepEqual(reachableAddresses("127.0.0.1"), ["127.0.0.1"]);
});

Deno.test("a listener's families: 0.0.0.0 and IPv4 v4, IPv6 v6, :: and names both", () => {
  assert.deepEqual(listeningFamilies("0.0.0.0"), { ipv4: true, ipv6: false });
  assert.deepEqual(listeningFamilies("::"), { ipv4: true, ipv6: true });
  assert.deepEqual(listeningFamilies("10.0.0.2"), {
    ipv4: true,
    ipv6: false,
  });
  assert.deepEqual(listeningFamilies("fe80::1%eth0"), {
    ipv4: false,
    ipv6: true,
  });
  assert.deepEqual(listeningFamilies("myhost"), { ipv4: true, ipv6: true });
});
