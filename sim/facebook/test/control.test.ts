// The control API over HTTP (/_sim/...): play a shopper, change a Page, revoke a token, move the
// clock, read the truth; bad input is a 400 that changes nothing. Graph chaos faults.
import { test } from "node:test";
import assert from "node:assert/strict";
import { allAccounts, APP_ID, graph, login, startReceiver, startSim } from "./helpers.js";

async function ctl(url: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}/_sim${path}`, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() as any };
}

test("control routes: shopper message -> webhook, Page change, token revoke, clock, truth; bad input changes nothing", async (t) => {
  const rx = await startReceiver();
  const sim = await startSim({ merchants: [{ seed: 12, pages: 2, conversationsPerPage: 1 }] });
  t.after(async () => { await sim.close(); await rx.close(); });
  assert.equal((await ctl(sim.url, "PUT", `/apps/${APP_ID}/webhook`, { callbackUrl: rx.url, verifyToken: rx.verifyToken })).status, 200);
  const token = await login(sim, { long: true });
  const [p] = await allAccounts(sim, token);
  await graph(sim, "POST", `${p!.id}/subscribed_apps`, { access_token: p!.access_token, subscribed_fields: "messages" });

  const before = await ctl(sim.url, "GET", `/pages/${p!.id}/truth`);
  const sent = await ctl(sim.url, "POST", `/pages/${p!.id}/shopper/messages`, { name: "Ana Silva", text: "Is it in stock?" });
  assert.equal(sent.status, 201);
  assert.match(sent.body.psid, /^\d{16}$/);
  await rx.waitFor(1);
  assert.equal(JSON.parse(rx.received[0]!.raw).entry[0].messaging[0].message.mid, sent.body.mid);
  const after = await ctl(sim.url, "GET", `/pages/${p!.id}/truth`);
  assert.equal(after.body.pages[0].conversations.length, before.body.pages[0].conversations.length + 1);
  assert.equal(after.body.pages[0].conversations[0].shopperName, "Ana Silva");

  // Bad bodies: 400, nothing changes.
  for (const bad of [{ text: "" }, { psid: "123", text: "x" }, { text: "x", extra: 1 }, {}]) {
    assert.equal((await ctl(sim.url, "POST", `/pages/${p!.id}/shopper/messages`, bad)).status, 400, JSON.stringify(bad));
  }
  assert.equal((await ctl(sim.url, "PATCH", `/pages/${p!.id}`, { name: "" })).status, 400);
  assert.deepEqual((await ctl(sim.url, "GET", `/pages/${p!.id}/truth`)).body, after.body);
  assert.equal((await ctl(sim.url, "POST", `/pages/999999999999999/shopper/messages`, { text: "x" })).status, 404);

  const patched = await ctl(sim.url, "PATCH", `/pages/${p!.id}`, { name: "New Name", website: "https://new.example" });
  assert.equal(patched.body.name, "New Name");
  assert.equal((await graph(sim, "GET", p!.id, { access_token: p!.access_token, fields: "name,website" })).body.website, "https://new.example");

  assert.deepEqual((await ctl(sim.url, "POST", "/tokens/revoke", { token: p!.access_token, reason: "logout" })).body, { revoked: true });
  assert.equal((await graph(sim, "GET", p!.id, { access_token: p!.access_token })).body.error.error_subcode, 467);
  const live = (await ctl(sim.url, "GET", "/tokens")).body.tokens;
  assert.ok(live.length >= 1);
  assert.ok(!JSON.stringify(live).includes(token), "the tokens listing holds no token string");

  const t0 = (await ctl(sim.url, "GET", "/clock")).body.now;
  assert.equal((await ctl(sim.url, "POST", "/clock/advance", { ms: 3_600_000 })).body.now, t0 + 3_600_000);
  assert.equal((await ctl(sim.url, "POST", "/clock/advance", { ms: -1 })).status, 400);
  assert.equal((await graph(sim, "GET", "me", { access_token: token })).status, 200);
  const m = await ctl(sim.url, "POST", "/merchants", { seed: 99, pages: 2 });
  assert.equal(m.status, 201);
  assert.equal(m.body.pages.length, 2);
  assert.equal((await ctl(sim.url, "GET", "/users")).body.users.length, 2);
});

test("graph chaos: transient code 1/2 (HTTP 500) and resets, the same for the same seed", async (t) => {
  const run = async (seed: number) => {
    const sim = await startSim({ chaos: { seed, graph: { rate: 0.5, kinds: { unknown: 1, service: 1, reset: 1, slow: 0 } } } });
    try {
      sim.control.setChaos({ seed }); // log in without faults
      const token = await login(sim);
      sim.control.setChaos({ seed, graph: { rate: 0.5, kinds: { unknown: 1, service: 1, reset: 1, slow: 0 } } });
      const seen: (string | number)[] = [];
      for (let i = 0; i < 20; i++) {
        try {
          const r = await graph(sim, "GET", "me", { access_token: token });
          seen.push(r.status === 200 ? 200 : r.body.error.code);
          if (r.status !== 200) {
            assert.equal(r.status, 500);
            assert.equal(r.body.error.is_transient, true);
          }
        } catch {
          seen.push("reset");
        }
      }
      return seen;
    } finally {
      await sim.close();
    }
  };
  const a = await run(3);
  assert.deepEqual(await run(3), a);
  assert.notDeepEqual(await run(4), a);
  for (const k of [200, 1, 2, "reset"]) assert.ok(a.includes(k), `${k} in ${a.join(",")}`);
});
