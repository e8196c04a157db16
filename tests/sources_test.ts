import assert from "node:assert/strict";
import { sourceKey, sourceKeys } from "../lib/net/sources.ts";

Deno.test("IPv6 sources are grouped by /64", () => {
  assert.equal(sourceKey("192.0.2.7"), "192.0.2.7");
  assert.equal(sourceKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  assert.equal(
    sourceKey("2001:0db8:0001:0002:bbbb:cccc:dddd:eeee"),
    "2001:db8:1:2::/64",
  );
  assert.equal(sourceKey("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(sourceKey("::1"), "0:0:0:0::/64");
  assert.equal(sourceKey("::ffff:192.0.2.7"), "192.0.2.7");
  assert.notEqual(sourceKey("::ffff:192.0.2.7"), sourceKey("::ffff:192.0.2.8"));
});

Deno.test("IPv6 sources also count at their /56 and /48", () => {
  assert.deepEqual(sourceKeys("2001:db8:1:2ab:aaaa::1"), [
    "2001:db8:1:2ab::/64",
    "2001:db8:1:200::/56",
    "2001:db8:1::/48",
  ]);
  assert.deepEqual(sourceKeys("fe80::1%eth0"), [
    "fe80:0:0:0::/64",
    "fe80:0:0:0::/56",
    "fe80:0:0::/48",
  ]);
  assert.deepEqual(sourceKeys("64:ff9b::192.0.2.7"), [
    "64:ff9b:0:0::/64",
    "64:ff9b:0:0::/56",
    "64:ff9b:0::/48",
  ]);
  assert.deepEqual(sourceKeys("0:0:0:0:0:FFFF:c000:0207"), ["192.0.2.7"]);
  assert.deepEqual(sourceKeys("192.0.2.7"), ["192.0.2.7"]);
  for (const odd of ["1:2:3", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::"]) {
    assert.deepEqual(sourceKeys(odd), [odd], odd);
  }
});
