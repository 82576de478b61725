// Mounts sim-core's Admin GraphQL plugin (sim/graphql/) with what it needs from the simulator.
import type { FastifyPluginAsync } from "fastify";
import type { SimContext } from "./index.js";

export async function graphqlPluginFor(_ctx: SimContext): Promise<FastifyPluginAsync | undefined> {
  return undefined; // wired once sim/graphql's route plugin lands
}
