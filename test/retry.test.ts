// src/retry.ts: the one backoff computation (job queue, Admin client, bulk poll).
import { test } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay } from "../src/retry.js";
import { backoffMs } from "../src/jobs/queue.js";

test("exponential growth capped, with full, equal or no jitter", () => {
  const top = () => 1 - Number.EPSILON;
  const opts = { baseMs: 100, capMs: 1000 };
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, { ...opts, jitter: "none" })), [100, 200, 400, 800, 1000, 1000]);
  assert.deepEqual([0, 1, 2].map((n) => backoffDelay(n, { ...opts, random: () => 0 })), [0, 0, 0], "full jitter starts at 0");
  assert.deepEqual([0, 1, 2].map((n) => backoffDelay(n, { ...opts, random: top })), [99, 199, 399], "full jitter stays below the delay");
  assert.deepEqual([0, 1, 2].map((n) => backoffDelay(n, { ...opts, jitter: "equal", random: () => 0 })), [50, 100, 200], "equal jitter: at least half");
  assert.deepEqual([0, 1, 2].map((n) => backoffDelay(n, { ...opts, jitter: "equal", random: () => 1 })), [100, 200, 400]);
  assert.equal(backoffDelay(5000, { ...opts, jitter: "none" }), 1000, "a huge attempt number stays at the cap");
  assert.equal(backoffDelay(-3, { ...opts, jitter: "none" }), 100, "negative attempts count as the first");
});

test("the job queue's backoffMs delegates: ~1 s, 2 s, 4 s ... up to 15 minutes, never below half", () => {
  assert.deepEqual([1, 2, 3, 4].map((a) => backoffMs(a, () => 1)), [1000, 2000, 4000, 8000]);
  assert.deepEqual([1, 2, 3].map((a) => backoffMs(a, () => 0)), [500, 1000, 2000]);
  assert.equal(backoffMs(40, () => 1), 15 * 60_000);
});
