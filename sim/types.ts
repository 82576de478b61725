// Types shared by the simulator's entry (index.ts) and its parts (graphql-mount.ts), in a file of
// their own so that neither imports the other.
import type { ShopState } from "./catalog/model.js";
import type { GenerateOptions } from "./catalog/generate.js";
import type { Chaos } from "./chaos.js";
import type { Control } from "./control.js";
import type { OAuthServer } from "./oauth.js";

export type SimPlan = "basic" | "standard" | "advanced" | "plus" | "enterprise";

export interface SimShopOptions extends Omit<GenerateOptions, "domain" | "clock"> {
  domain: string; // "<name>.myshopify.com"
  plan?: SimPlan; // Admin API restore rate preset (basic = standard = 100 points/s)
}

/** The simulator's parts, as graphql-mount.ts needs them to configure sim-core's plugin. */
export interface SimContext {
  shops: Map<string, ShopState>;
  shopOptions: Map<string, SimShopOptions>;
  oauth: OAuthServer;
  control: Control;
  chaos: Chaos;
  clock: () => number;
}
