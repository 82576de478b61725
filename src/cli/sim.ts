// `storelink sim`: runs the Shopify simulator standalone (sim/README.md). The service never imports
// the simulator; this command loads it on demand.
import { InvalidArgumentError, type Command } from "commander";

function int(name: string, min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerSim(program: Command): void {
  program
    .command("sim")
    .description("run the Shopify simulator (OAuth, Admin GraphQL, webhooks) until Ctrl-C")
    .option("--port <n>", "port (0 = random)", int("--port", 0, 65535), 4100)
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--shop <name>", "shop to serve (repeatable; <name> or <name>.myshopify.com)", collect, [] as string[])
    .option("--products <n>", "products per shop", int("--products", 0, 100_000), 200)
    .option("--seed <n>", "catalog seed (shop i uses seed + i)", int("--seed", 0, 2 ** 31), 1)
    .option("--plan <plan>", "API rate plan: basic | standard | advanced | plus | enterprise")
    .option("--api-key <key>", "app client id (default: $SHOPIFY_API_KEY)")
    .option("--redirect-uri <url>", "allowed OAuth redirect URL (repeatable; default: any)", collect, [] as string[])
    .option("--compliance-uri <url>", "where compliance webhooks go (default: $SHOPIFY_WEBHOOK_ADDRESS)")
    .option("--expiring-tokens", "always issue expiring offline tokens")
    .option("--auto-approve", "skip the approve page in /admin/oauth/authorize")
    .option("--chaos-seed <n>", "seed for chaos (set rates through PUT /_sim/chaos)", int("--chaos-seed", 0, 2 ** 31))
    .action(async (o: Record<string, unknown>) => {
      const apiKey = (o.apiKey as string | undefined) ?? process.env.SHOPIFY_API_KEY;
      // The secret comes from the environment only, never from a flag (flags show up in `ps`).
      const apiSecret = process.env.SHOPIFY_API_SECRET;
      if (!apiKey || !apiSecret) {
        console.error("storelink sim: set SHOPIFY_API_KEY (or --api-key) and SHOPIFY_API_SECRET");
        process.exit(2);
      }
      const plans = ["basic", "standard", "advanced", "plus", "enterprise"];
      if (o.plan !== undefined && !plans.includes(o.plan as string)) {
        console.error(`storelink sim: --plan must be one of ${plans.join(", ")}`);
        process.exit(2);
      }
      const { runStandalone } = await import("../../sim/cli.js");
      const shops = (o.shop as string[]).length ? (o.shop as string[]) : ["demo"];
      await runStandalone({
        port: o.port as number,
        host: o.host as string,
        shops,
        products: o.products as number,
        seed: o.seed as number,
        plan: o.plan as "basic" | undefined,
        apiKey,
        apiSecret,
        redirectUri: o.redirectUri as string[],
        complianceUri: (o.complianceUri as string | undefined) ?? process.env.SHOPIFY_WEBHOOK_ADDRESS,
        expiringTokens: o.expiringTokens === true,
        autoApprove: o.autoApprove === true,
        chaos: o.chaosSeed !== undefined ? { seed: o.chaosSeed as number } : undefined,
      });
    });
}
