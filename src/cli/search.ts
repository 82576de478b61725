// `storelink search <shop> "<query>"`: the catalog search the bot uses, from the command line
// (for merchants and for debugging the bot): ranked results with price, stock per location and
// the active discounts. --json prints the search response as the tools see it.
import type { Command } from "commander";
import { openCliContext } from "./context.js";
import { searchCapabilities, searchProducts, SearchInputError, type SearchResponse } from "../bot/search/index.js";

/** The results as a readable table (one product per block). */
export function formatSearchResults(r: SearchResponse): string {
  const f = r.filters;
  const applied = [
    f.minPrice ? `min ${f.minPrice}` : "",
    f.maxPrice ? `max ${f.maxPrice}` : "",
    f.inStockOnly ? "in stock only" : "",
    f.collection ? `collection ${JSON.stringify(f.collection)}` : "",
  ].filter(Boolean);
  const out: string[] = [];
  if (applied.length) out.push(`filters: ${applied.join(", ")}`);
  if (r.unknownCollection) out.push(`no collection named ${JSON.stringify(f.collection)}`);
  if (!r.results.length) {
    out.push("no matching products on sale");
    return out.join("\n");
  }
  r.results.forEach((x, i) => {
    const cur = x.price.currencyCode ? ` ${x.price.currencyCode}` : "";
    const price = x.price.min === x.price.max ? `${x.price.min}${cur}` : `${x.price.min}-${x.price.max}${cur}`;
    out.push(`${i + 1}. ${x.title}  ${price}  ${x.available ? `in stock (${x.totalAvailable})` : "out of stock"}  [${x.vendor} / ${x.productType}]`);
    out.push(`   ${x.productId}  score ${x.score}`);
    if (x.availability.length) out.push(`   stock: ${x.availability.map((l) => `${l.locationName} ${l.available}`).join(", ")}`);
    for (const v of x.matchingVariants) out.push(`   variant: ${v.title}  ${v.price}  ${v.sellable ? `available (${v.available})` : "out of stock"}`);
  });
  const ds = r.results[0]!.discounts;
  if (ds.length) out.push(`active discounts: ${ds.map((d) => `${d.title}${d.codes.length ? ` (${d.codes.join(", ")})` : ""}`).join("; ")}`);
  return out.join("\n");
}

export function registerSearch(program: Command): void {
  program
    .command("search <shop> <query>")
    .description("search a shop's mirrored catalog as the bot does (ACTIVE products only)")
    .option("--in-stock", "only products that can be bought now")
    .option("--min-price <amount>", "lowest variant price")
    .option("--max-price <amount>", "highest variant price")
    .option("--collection <name>", "a collection title, handle or id")
    .option("--limit <n>", "number of results (1-50)", "10")
    .option("--json", "print JSON")
    .action(async (shop: string, query: string, flags: { inStock?: boolean; minPrice?: string; maxPrice?: string; collection?: string; limit: string; json?: boolean }) => {
      const ctx = await openCliContext();
      try {
        const limit = Number(flags.limit);
        const r = await searchProducts(ctx.db, shop, {
          query,
          inStockOnly: flags.inStock === true,
          minPrice: flags.minPrice,
          maxPrice: flags.maxPrice,
          collection: flags.collection,
          limit: Number.isInteger(limit) ? limit : NaN,
        });
        if (flags.json) console.log(JSON.stringify(r, null, 2));
        else {
          const caps = await searchCapabilities(ctx.db);
          if (!caps.fuzzy) console.error(`note: ${caps.engine}`);
          console.log(formatSearchResults(r));
        }
      } catch (err) {
        if (err instanceof SearchInputError) {
          console.error(`storelink search: ${err.message}`);
          process.exitCode = 2;
          return;
        }
        throw err;
      } finally {
        await ctx.close();
      }
    });
}
