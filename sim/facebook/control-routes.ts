// Sim-only JSON routes under /_sim/: the same operations as `sim.control`, for the standalone
// simulator and the demo. Bodies are validated with zod; bad input gets a 400 and changes nothing.
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ControlError, type Control } from "./control.js";

const fbId = z.string().regex(/^[1-9]\d{14,16}$/, "a numeric id string of 15-17 digits");
const attachment = z.object({ type: z.enum(["image", "video", "audio", "file", "fallback", "reel"]), url: z.string().url() }).strict();
const rate = z.number().min(0).max(1).optional();
const chaosBody = z.object({
  seed: z.number().int().optional(),
  webhooks: z.object({ duplicateRate: rate, duplicateCopies: z.number().int().min(1).max(10).optional(), reorderRate: rate, dropRate: rate, delayRate: rate, maxDelayMs: z.number().int().min(0).optional(), reorderDelayMs: z.number().int().min(0).optional() }).strict().optional(),
  graph: z.object({
    rate,
    kinds: z.object({ unknown: z.number().min(0).optional(), service: z.number().min(0).optional(), slow: z.number().min(0).optional(), reset: z.number().min(0).optional() }).strict().optional(),
    slowMs: z.number().int().min(0).optional(),
  }).strict().optional(),
}).strict();
const pagePatch = z.object({
  name: z.string().min(1).max(200).optional(),
  category: z.string().min(1).optional(),
  about: z.string().max(255).optional(),
  description: z.string().optional(),
  username: z.string().regex(/^[A-Za-z0-9.]{5,50}$/).nullable().optional(),
  phone: z.string().nullable().optional(),
  website: z.string().url().nullable().optional(),
  emails: z.array(z.string().email()).optional(),
  fan_count: z.number().int().min(0).optional(),
  followers_count: z.number().int().min(0).optional(),
}).strict();

type P = { Params: { page: string; psid: string; user: string } };

export async function controlRoutes(app: FastifyInstance, opts: { control: Control }): Promise<void> {
  const c = opts.control;
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof z.ZodError) {
      req.log.info("sim facebook control: invalid body");
      return reply.code(400).send({ error: "invalid body", issues: err.issues.map((i) => ({ path: i.path.join("."), message: i.message })) });
    }
    if (err instanceof ControlError) return reply.code(err.status).send({ error: err.message });
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ error: (err as Error).message });
    req.log.error({ err }, "sim facebook control failed");
    return reply.code(500).send({ error: "internal error" });
  });
  const body = (req: { body: unknown }) => req.body ?? {};

  app.get("/users", async () => ({ users: c.users() }));
  app.get("/truth", async () => c.truth());
  app.get<P>("/pages/:page/truth", async (req) => c.truth(req.params.page));
  app.patch<P>("/pages/:page", async (req) => c.updatePage(req.params.page, pagePatch.parse(body(req))));
  app.put<P>("/pages/:page/tasks/:user", async (req) => c.setPageTasks(req.params.page, req.params.user, z.object({ tasks: z.array(z.string().min(1)) }).strict().parse(body(req)).tasks));

  app.post<P>("/pages/:page/shopper/messages", async (req, reply) => {
    const b = z.object({ psid: fbId.optional(), name: z.string().min(1).max(100).optional(), text: z.string().min(1).max(20_000).optional(), attachments: z.array(attachment).max(10).optional(), quickReplyPayload: z.string().max(1000).optional(), replyToMid: z.string().optional() }).strict().parse(body(req));
    return reply.code(201).send(c.shopperSends(req.params.page, b));
  });
  app.post<P>("/pages/:page/shopper/postbacks", async (req, reply) => {
    const b = z.object({ psid: fbId.optional(), title: z.string().min(1), payload: z.string().min(1).max(1000), referral: z.object({ ref: z.string(), source: z.string(), type: z.string() }).strict().optional() }).strict().parse(body(req));
    const { psid, ...rest } = b;
    return reply.code(201).send(c.shopperPostback(req.params.page, psid, rest));
  });
  app.post<P>("/pages/:page/shopper/referrals", async (req, reply) => {
    const b = z.object({ psid: fbId.optional(), ref: z.string().min(1).max(250), source: z.string().optional(), type: z.string().optional() }).strict().parse(body(req));
    const { psid, ...rest } = b;
    return reply.code(201).send(c.shopperReferral(req.params.page, psid, rest));
  });
  app.post<P>("/pages/:page/shopper/:psid/read", async (req) => c.shopperReads(req.params.page, req.params.psid));
  app.post<P>("/pages/:page/shopper/:psid/delivered", async (req) => c.shopperDelivered(req.params.page, req.params.psid, z.object({ withMids: z.boolean().optional() }).strict().parse(body(req))));
  app.put<P>("/pages/:page/thread-owner", async (req) => c.setThreadOwner(req.params.page, z.object({ appId: z.string().min(1).nullable() }).strict().parse(body(req)).appId));
  app.post<P>("/pages/:page/inbox/:psid", async (req) => c.pageInboxReply(req.params.page, req.params.psid, z.object({ text: z.string().min(1) }).strict().parse(body(req)).text));

  app.put<P>("/login/user", async (req) => (c.setLoginUser(z.object({ userId: fbId }).strict().parse(body(req)).userId), { ok: true }));
  app.put<P>("/users/:user/granted-pages", async (req) => (c.setGrantedPages(req.params.user, z.object({ pageIds: z.array(fbId).nullable() }).strict().parse(body(req)).pageIds), { ok: true }));
  app.post<P>("/users/:user/password", async (req) => c.changePassword(req.params.user));
  app.post<P>("/users/:user/deauthorize", async (req) => c.deauthorize(req.params.user, z.object({ appId: z.string().min(1) }).strict().parse(body(req)).appId));
  app.post("/tokens/revoke", async (req) => {
    const b = z.object({ token: z.string().min(1), reason: z.enum(["password", "deauthorized", "logout"]).optional() }).strict().parse(body(req));
    return c.revokeToken(b.token, b.reason);
  });
  app.get("/tokens", async () => ({ tokens: c.tokens() }));
  app.post("/clock/advance", async (req) => c.advanceClock(z.object({ ms: z.number().int().min(0) }).strict().parse(body(req)).ms));
  app.get("/clock", async () => ({ now: c.now() }));
  app.post("/merchants", async (req, reply) => {
    const b = z.object({ seed: z.number().int().optional(), userName: z.string().min(1).optional(), pages: z.number().int().min(0).max(1000).optional(), conversationsPerPage: z.number().int().min(0).max(1000).optional(), messagesPerConversation: z.number().int().min(0).max(1000).optional() }).strict().parse(body(req));
    return reply.code(201).send(c.addMerchant(b));
  });

  app.put<{ Params: { app: string } }>("/apps/:app/webhook", async (req) => {
    const b = z.object({ callbackUrl: z.string().url(), verifyToken: z.string().min(1), fields: z.array(z.string().min(1)).optional() }).strict().parse(body(req));
    return c.setWebhook(req.params.app, b);
  });
  app.get("/deliveries", async () => ({ deliveries: c.deliveries() }));
  app.post("/idle", async () => (await c.idle(), { idle: true }));
  app.get("/chaos", async () => c.chaos());
  app.put("/chaos", async (req) => c.setChaos(chaosBody.parse(body(req))));
  app.delete("/chaos", async () => c.resetChaos());
}
