import assert from "node:assert/strict";
import { test } from "node:test";
import { DeploymentHealth } from "../../src/routing/deployment-health.ts";

test("cooldown doubles from initial_ms to max_ms; a probe after it closes the circuit", () => {
  const health = new DeploymentHealth({ initialMs: 100, maxMs: 300 });
  assert.equal(health.begin(0), false, "a healthy deployment takes plain requests");
  health.failed({ startedAt: 0, probe: false }, 10);
  assert.equal(health.cooldownLeftMs(10), 100);
  assert.equal(health.accepts(109), false);
  assert.equal(health.accepts(110), true);

  const probe = health.begin(110);
  assert.equal(probe, true, "the first request after the cooldown is the probe");
  assert.equal(health.accepts(111), false, "nothing else while the probe is out");
  health.failed({ startedAt: 110, probe }, 120);
  assert.equal(health.cooldownLeftMs(120), 200, "doubled");
  health.failed({ startedAt: 320, probe: health.begin(320) }, 320);
  assert.equal(health.cooldownLeftMs(320), 300, "capped at max_ms");

  const lastProbe = health.begin(620);
  assert.equal(lastProbe, true);
  health.succeeded({ probe: lastProbe });
  assert.equal(health.isUp(620), true);
  assert.equal(health.begin(621), false, "closed: plain requests again");
  health.failed({ startedAt: 621, probe: false }, 630);
  assert.equal(health.cooldownLeftMs(630), 100, "a closed circuit starts over from initial_ms");
});

test("what was in flight when the circuit opened neither doubles the cooldown nor ends it", () => {
  const health = new DeploymentHealth({ initialMs: 100, maxMs: 10_000 });
  health.failed({ startedAt: 0, probe: false }, 50);
  // Nine more that started before the failure fail just after it.
  for (let index = 0; index < 9; index += 1) health.failed({ startedAt: index, probe: false }, 51);
  assert.ok(health.cooldownLeftMs(51) <= 100, `still one cooldown (${health.cooldownLeftMs(51)} ms)`);
  health.succeeded({ probe: false });
  assert.equal(health.isUp(60), false, "a late success of an older request does not end the cooldown");
});

test("a 429's Retry-After sets the cooldown", () => {
  const health = new DeploymentHealth({ initialMs: 100, maxMs: 200 });
  health.failed({ startedAt: 0, probe: false }, 0, 2000);
  assert.equal(health.cooldownLeftMs(0), 2000);
  assert.equal(health.accepts(1999), false);
  assert.equal(health.accepts(2000), true);
});

test("a probe that ends without a verdict (the client left) lets the next request probe", () => {
  const health = new DeploymentHealth({ initialMs: 100, maxMs: 200 });
  health.failed({ startedAt: 0, probe: false }, 0);
  const probe = health.begin(100);
  health.ended({ probe });
  assert.equal(health.accepts(101), true);
  assert.equal(health.begin(101), true);
});
