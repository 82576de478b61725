import type { Db } from "../storage/db.js";
import type { ReplyTools } from "./compose.js";

/** Makes one shop's catalog tools (src/bot/tools.ts createCatalogTools). */
export type ShopToolsFactory = (db: Db, shop: string) => ReplyTools;

const isError = (v: unknown) => v === null || v === undefined || (typeof v === "object" && v !== null && "error" in (v as object));

/**
 * The tools over all of a merchant's shops: one shop -> its tools as they are; several -> searches
 * and discount lists answer per shop ({shops: [{shop, result}]}), product lookups ask each shop in
 * turn until one knows the product.
 */
export function toolsForShops(db: Db, shops: string[], make: ShopToolsFactory): ReplyTools | null {
  if (!shops.length) return null;
  const each = shops.map((shop) => ({ shop, tools: make(db, shop) }));
  if (each.length === 1) return each[0]!.tools;
  return {
    definitions: each[0]!.tools.definitions,
    async call(name, args) {
      if (name === "search_products" || name === "list_discounts") {
        const results = [];
        for (const e of each) results.push({ shop: e.shop, result: await e.tools.call(name, args) });
        return { shops: results };
      }
      let last: unknown = null;
      let lastErr: unknown = null;
      for (const e of each) {
        try {
          last = await e.tools.call(name, args);
          if (!isError(last)) return last;
        } catch (err) {
          lastErr = err;
        }
      }
      if (lastErr && isError(last)) throw lastErr;
      return last;
    },
  };
}
