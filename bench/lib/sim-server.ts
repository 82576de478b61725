// Child process: the simulator alone (so its memory and CPU are not the measured process's).
// Input: env BENCH_SIM = JSON {shop, products, variants, locations, seed, plan}. Prints
// {url, shopOrigin, token, scopes, products} once listening. Stdin commands (JSON lines):
//   {"cmd":"ids"}                    -> {count, idsHash}   sha256 of the sorted product gids, one per line
//   {"cmd":"check","products":[...]} -> {checked, mismatches: [id...]}  deepEqual with the truth
//   {"cmd":"metadata"}               -> {metadata}
//   {"cmd":"lists"}                  -> {collections, discounts, hash}  counts, and sha256 of their export JSON
//   {"cmd":"stop"}                   -> closes and exits
import { isDeepStrictEqual } from "node:util";
import { createHash } from "node:crypto";
import { createInterface } from "node:readline";
import { createSimulator, type SimPlan } from "../../sim/index.js";
import { truthCollections, truthDiscounts, truthMetadata, truthProduct } from "../../sim/truth.js";
import { BENCH_API_KEY, BENCH_API_SECRET, simAccessToken } from "./storelink.js";

const o = JSON.parse(process.env.BENCH_SIM ?? "{}") as { shop: string; products: number; variants: number; locations: number; seed: number; plan: SimPlan };
const sim = await createSimulator({
  apps: [{ apiKey: BENCH_API_KEY, apiSecret: BENCH_API_SECRET }],
  shops: [{ domain: o.shop, seed: o.seed, products: o.products, variantsPerProduct: o.variants, locations: o.locations, plan: o.plan }],
  autoApprove: true,
  logLevel: false,
});
const scopes = ["read_products", "read_inventory", "read_discounts", "read_locations", "read_product_listings"];
const { token, scopes: granted } = await simAccessToken(sim.url, o.shop, scopes);
const state = sim.control.state(o.shop);
console.log(JSON.stringify({ url: sim.url, shopOrigin: sim.shopOrigin, apiVersion: sim.apiVersion, token, scopes: granted, products: state.products.size }));

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const m = JSON.parse(line) as { cmd: string; products?: { id: string }[] };
  if (m.cmd === "ids") {
    const ids = [...state.products.keys()].sort((a, b) => a - b).map((id) => `gid://shopify/Product/${id}`);
    console.log(JSON.stringify({ count: ids.length, idsHash: createHash("sha256").update(ids.join("\n")).digest("hex") }));
  } else if (m.cmd === "check") {
    const mismatches: string[] = [];
    for (const p of m.products ?? []) {
      const t = state.products.get(Number(p.id.split("/").pop()));
      if (!t || !isDeepStrictEqual(truthProduct(t), p)) mismatches.push(p.id);
    }
    console.log(JSON.stringify({ checked: m.products?.length ?? 0, mismatches }));
  } else if (m.cmd === "metadata") {
    console.log(JSON.stringify({ metadata: truthMetadata(state) }));
  } else if (m.cmd === "lists") {
    const collections = truthCollections(state);
    const discounts = truthDiscounts(state);
    const hash = createHash("sha256").update(JSON.stringify({ collections, discounts })).digest("hex");
    console.log(JSON.stringify({ collections: collections.length, discounts: discounts.length, hash }));
  } else if (m.cmd === "stop") break;
}
await sim.close();
process.exit(0);
