// The per-shop status of `storelink status` (every shop) and of the dashboard (one merchant's).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from "kysely";
import { markSyncFinished } from "../src/shopify/catalog/sync-state.js";
import { collectStatus } from "../src/shopify/status.js";
import { testDialects } from "./helpers/db.js";
import { installShopRow } from "./helpers/webhooks.js";

/** Records the SQL of every query run through the Kysely instance it is plugged into. */
class QueryLog implements KyselyPlugin {
  readonly sql: string[] = [];
  constructor(private readonly compile: (node: RootOperationNode) => string) {}
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.sql.push(this.compile(args.node));
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

for (const d of testDialects()) {
  describe(`shop status [${d.name}]`, { skip: d.skip }, () => {
    it("one merchant's status reads only that merchant's shops' sync states; without a user every shop's", async () => {
      const t = await d.open();
      try {
        for (const shop of ["alice.myshopify.com", "bob.myshopify.com", "carol.myshopify.com"]) {
          await installShopRow(t, shop);
          await markSyncFinished(t.db, shop, { mode: "full", startedAt: Date.now(), productCount: shop.length, full: true });
        }
        const alice = (await t.db.selectFrom("shops").select("user_id").where("domain", "=", "alice.myshopify.com").executeTakeFirstOrThrow()).user_id;
        const log = new QueryLog((node) => t.db.getExecutor().compileQuery(node, { queryId: "log" } as never).sql);
        const rows = await collectStatus(t.db.withPlugin(log), alice);
        assert.deepEqual(rows.map((r) => [r.shop, r.products, r.sync]), [["alice.myshopify.com", "alice.myshopify.com".length, "idle (full)"]]);
        const stateQueries = log.sql.filter((q) => q.includes("catalog_sync_state"));
        assert.equal(stateQueries.length, 1);
        assert.match(stateQueries[0]!, /\bwhere\b/i, `the sync states are filtered by the merchant's shops: ${stateQueries[0]}`);

        const all = await collectStatus(t.db);
        assert.deepEqual(all.map((r) => r.shop), ["alice.myshopify.com", "bob.myshopify.com", "carol.myshopify.com"]);
        assert.ok(all.every((r) => r.products > 0 && r.sync === "idle (full)"));
      } finally {
        await t.cleanup();
      }
    });
  });
}
