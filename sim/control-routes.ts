// Sim-only JSON routes under /_sim/: the same operations as `sim.control`, for the standalone
// simulator and the demo. Bodies are validated with zod; bad input gets a 400 and changes nothing.
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { NotFoundError } from "./catalog/mutate.js";
import { ControlError, type Control } from "./control.js";

const id = z.union([z.number().int().positive(), z.string().min(1).max(200)]);
const money = z.string().regex(/^\d+(\.\d{1,2})?$/);
const metafield = z.object({ namespace: z.string().min(1).max(255), key: z.string().min(1).max(64), type: z.string().min(1), value: z.string() });
const productPatch = z.object({
  title: z.string().min(1).max(255).optional(),
  handle: z.string().min(1).max(255).optional(),
  descriptionHtml: z.string().optional(),
  vendor: z.string().optional(),
  productType: z.string().optional(),
  status: z.enum(["ACTIVE", "DRAFT", "ARCHIVED"]).optional(),
  tags: z.array(z.string()).optional(),
  options: z.array(z.object({ name: z.string().min(1), values: z.array(z.string()).min(1) })).max(3).optional(),
  metafields: z.array(metafield).optional(),
}).strict();
const variantInput = z.object({
  title: z.string().optional(),
  sku: z.string().nullable().optional(),
  barcode: z.string().nullable().optional(),
  price: money.optional(),
  compareAtPrice: money.nullable().optional(),
  inventoryPolicy: z.enum(["DENY", "CONTINUE"]).optional(),
  selectedOptions: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
  inventory: z.array(z.object({ locationId: z.number().int().positive(), available: z.number().int() })).optional(),
}).strict();
const discountValue = z.union([z.object({ percentage: z.number().min(0).max(1) }), z.object({ amount: money, currencyCode: z.string().length(3) })]);
const discountPatch = z.object({
  title: z.string().min(1).optional(),
  status: z.enum(["ACTIVE", "EXPIRED", "SCHEDULED"]).optional(),
  startsAt: z.number().int().optional(),
  endsAt: z.number().int().nullable().optional(),
  codes: z.array(z.string().min(1)).optional(),
  value: discountValue.nullable().optional(),
  bxgy: z.object({ buyQuantity: z.number().int().positive(), getQuantity: z.number().int().positive() }).nullable().optional(),
}).strict();
const rate = z.number().min(0).max(1).optional();
const chaosBody = z.object({
  seed: z.number().int().optional(),
  webhooks: z.object({ duplicateRate: rate, duplicateCopies: z.number().int().min(1).max(10).optional(), reorderRate: rate, dropRate: rate, delayRate: rate, maxDelayMs: z.number().int().min(0).optional(), reorderDelayMs: z.number().int().min(0).optional() }).strict().optional(),
  admin: z.object({
    rate,
    kinds: z.object({ http429: z.number().min(0).optional(), http5xx: z.number().min(0).optional(), throttled: z.number().min(0).optional(), slow: z.number().min(0).optional(), reset: z.number().min(0).optional() }).strict().optional(),
    retryAfterSeconds: z.number().int().min(0).optional(),
    slowMs: z.number().int().min(0).optional(),
  }).strict().optional(),
}).strict();

type P = { Params: { shop: string; id: string } };

export async function controlRoutes(app: FastifyInstance, opts: { control: Control }): Promise<void> {
  const c = opts.control;
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof z.ZodError) {
      req.log.info("sim control: invalid body");
      return reply.code(400).send({ error: "invalid body", issues: err.issues.map((i) => ({ path: i.path.join("."), message: i.message })) });
    }
    if (err instanceof ControlError) return reply.code(err.status).send({ error: err.message });
    if (err instanceof NotFoundError) return reply.code(404).send({ error: err.message });
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ error: (err as Error).message });
    req.log.error({ err }, "sim control failed");
    return reply.code(500).send({ error: "internal error" });
  });
  const body = (req: { body: unknown }) => req.body ?? {};

  app.get("/shops", async () => ({ shops: c.shops() }));
  app.get<P>("/:shop/truth", async (req) => c.truth(req.params.shop));

  app.post<P>("/:shop/products", async (req, reply) => {
    const b = productPatch.extend({ title: z.string().min(1).max(255), variants: z.array(variantInput).min(1).max(2048).optional() }).strict().parse(body(req));
    const { variants, ...input } = b;
    return reply.code(201).send(c.createProduct(req.params.shop, input, variants));
  });
  app.patch<P>("/:shop/products/:id", async (req) => c.updateProduct(req.params.shop, req.params.id, productPatch.parse(body(req))));
  app.delete<P>("/:shop/products/:id", async (req) => (c.deleteProduct(req.params.shop, req.params.id), { deleted: true }));
  app.post<P>("/:shop/products/:id/variants", async (req, reply) => reply.code(201).send(c.addVariant(req.params.shop, req.params.id, variantInput.parse(body(req)))));
  app.patch<P>("/:shop/variants/:id", async (req) => c.updateVariant(req.params.shop, req.params.id, variantInput.omit({ inventory: true }).parse(body(req))));
  app.delete<P>("/:shop/variants/:id", async (req) => (c.deleteVariant(req.params.shop, req.params.id), { deleted: true }));
  app.post<P>("/:shop/inventory", async (req) => {
    const b = z.object({ inventoryItemId: id, locationId: id, available: z.number().int() }).strict().parse(body(req));
    return c.setInventory(req.params.shop, b.inventoryItemId, b.locationId, b.available);
  });
  app.post<P>("/:shop/inventory/disconnect", async (req) => {
    const b = z.object({ inventoryItemId: id, locationId: id }).strict().parse(body(req));
    return (c.disconnectInventory(req.params.shop, b.inventoryItemId, b.locationId), { disconnected: true });
  });

  const collectionBase = { title: z.string().min(1).max(255), handle: z.string().min(1).optional(), descriptionHtml: z.string().optional() };
  app.post<P>("/:shop/collections", async (req, reply) =>
    reply.code(201).send(c.createCollection(req.params.shop, z.object({ ...collectionBase, productIds: z.array(id).optional() }).strict().parse(body(req)))));
  app.patch<P>("/:shop/collections/:id", async (req) =>
    c.updateCollection(req.params.shop, req.params.id, z.object({ ...collectionBase, title: collectionBase.title.optional(), addProductIds: z.array(id).optional(), removeProductIds: z.array(id).optional() }).strict().parse(body(req))));
  app.delete<P>("/:shop/collections/:id", async (req) => (c.deleteCollection(req.params.shop, req.params.id), { deleted: true }));

  app.post<P>("/:shop/discounts", async (req, reply) => {
    const b = discountPatch.extend({ method: z.enum(["code", "automatic"]), kind: z.enum(["basic", "bxgy", "freeShipping"]), title: z.string().min(1) }).strict().parse(body(req));
    return reply.code(201).send(c.createDiscount(req.params.shop, b));
  });
  app.patch<P>("/:shop/discounts/:id", async (req) => c.updateDiscount(req.params.shop, req.params.id, discountPatch.parse(body(req))));
  app.delete<P>("/:shop/discounts/:id", async (req) => (c.deleteDiscount(req.params.shop, req.params.id), { deleted: true }));

  app.patch<P>("/:shop/shop", async (req) => {
    const b = z.object({ name: z.string().min(1).optional(), email: z.string().email().optional(), currencyCode: z.string().length(3).optional(), primaryDomain: z.string().url().optional(), timezone: z.string().min(1).optional() }).strict().parse(body(req));
    if (b.timezone !== undefined) {
      try {
        new Intl.DateTimeFormat("en-US", { timeZone: b.timezone });
      } catch {
        throw new ControlError(400, "unknown time zone");
      }
    }
    return c.updateShop(req.params.shop, b);
  });
  app.post<P>("/:shop/uninstall", async (req) => c.uninstall(req.params.shop, z.object({ apiKey: z.string().min(1) }).strict().parse(body(req)).apiKey));
  app.post<P>("/:shop/compliance", async (req) => {
    const b = z.object({
      topic: z.enum(["customers/data_request", "customers/redact", "shop/redact"]),
      apiKey: z.string().optional(),
      customer: z.object({ id: z.number().int().positive(), email: z.string(), phone: z.string() }).strict().optional(),
      orders: z.array(z.number().int().positive()).optional(),
    }).strict().parse(body(req));
    const { topic, ...rest } = b;
    return c.sendCompliance(req.params.shop, topic, rest);
  });

  app.get("/chaos", async () => c.chaos());
  app.put("/chaos", async (req) => c.setChaos(chaosBody.parse(body(req))));
  app.delete("/chaos", async () => c.resetChaos());
  app.get("/deliveries", async () => ({ deliveries: c.deliveries() }));
  app.post("/idle", async () => (await c.idle(), { idle: true }));
}
