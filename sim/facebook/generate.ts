// Seeded generator for demo merchants: a user with N Pages (the user has every task on each), each
// Page with a few conversations of a few messages. Same options + seed + start time => the same
// world. Uses the Shopify simulator's exported mulberry32 PRNG.
import { mulberry32 } from "../catalog/generate.js";
import type { Conversation, FbWorld, SimMessage, SimPage, SimUser } from "./model.js";

export interface MerchantOptions {
  seed?: number; // default 1
  /** User id (17 digits); default drawn from the seed. */
  userId?: string;
  userName?: string;
  /** Pages the user manages (default 30: more than one /me/accounts page at the default limit of 25). */
  pages?: number;
  /** Conversations per Page (default 3). */
  conversationsPerPage?: number;
  /** Messages per conversation (default 4, alternating shopper and Page, shopper first). */
  messagesPerConversation?: number;
  /** Epoch ms of the first generated message (default: the sim clock minus 3 days). */
  startTime?: number;
}

const FIRST = ["Ana", "Ben", "Chloe", "Dev", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jon", "Kai", "Lena", "Milo", "Nora", "Omar", "Pia"];
const LAST = ["Silva", "Meyer", "Okafor", "Tanaka", "Rossi", "Novak", "Haddad", "Berg", "Costa", "Lund"];
const SHOP_WORDS = ["Sunny", "Cedar", "Harbor", "Velvet", "Maple", "Copper", "Lotus", "North", "Pebble", "Willow"];
const SHOP_KINDS = ["Boutique", "Bakery", "Outfitters", "Ceramics", "Books", "Bikes", "Tea House", "Candles"];
const CATEGORIES = ["Clothing Store", "Bakery", "Sporting Goods Store", "Home Decor", "Book Store", "Shopping & Retail"];
const ASKS = [
  "Hi! Do you have this in a medium?", "What are your opening hours?", "Is the blue one still in stock?",
  "How much is shipping to Lisbon?", "Can I return an item after 30 days?", "Do you ship internationally?",
  "Is there a discount for two?", "When will the new collection arrive?",
];
const REPLIES = [
  "Hello! Yes, we have it in medium.", "We're open 9 to 6, Monday to Saturday.", "Let me check that for you.",
  "Shipping is 4.90 EUR.", "Returns are accepted within 30 days.", "Yes, we ship worldwide.",
];

/** Draws a numeric id string of `len` digits (first digit 1-9) from the PRNG. */
export function drawId(rng: () => number, len: number): string {
  let s = String(1 + Math.floor(rng() * 9));
  while (s.length < len) s += String(Math.floor(rng() * 10));
  return s;
}

export function drawMid(rng: () => number): string {
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  let s = "m_";
  for (let i = 0; i < 40; i++) s += abc[Math.floor(rng() * abc.length)];
  return s;
}

const pick = <T>(rng: () => number, xs: T[]): T => xs[Math.floor(rng() * xs.length)]!;

function uniqueId(rng: () => number, len: number, taken: (id: string) => boolean): string {
  for (;;) {
    const id = drawId(rng, len);
    if (!taken(id)) return id;
  }
}

/** Adds one merchant (user + Pages + conversations) to the world; returns the user. */
export function generateMerchant(world: FbWorld, opts: MerchantOptions, now: number): SimUser {
  const rng = mulberry32((opts.seed ?? 1) * 2654435761);
  const userId = opts.userId ?? uniqueId(rng, 17, (id) => world.users.has(id));
  if (world.users.has(userId)) throw new Error(`generateMerchant: duplicate user ${userId}`);
  const user: SimUser = { id: userId, name: opts.userName ?? `${pick(rng, FIRST)} ${pick(rng, LAST)}` };
  world.users.set(user.id, user);
  const nPages = opts.pages ?? 30;
  const nConv = opts.conversationsPerPage ?? 3;
  const nMsg = opts.messagesPerConversation ?? 4;
  const base = opts.startTime ?? now - 3 * 86_400_000;
  for (let i = 0; i < nPages; i++) {
    const pageId = uniqueId(rng, 15, (id) => world.pages.has(id));
    const name = `${pick(rng, SHOP_WORDS)} ${pick(rng, SHOP_KINDS)} ${i + 1}`;
    const page: SimPage = {
      id: pageId, name, category: pick(rng, CATEGORIES),
      about: `${name}: small shop, friendly service.`, description: `Welcome to ${name}. Ask us anything on Messenger.`,
      username: name.toLowerCase().replace(/[^a-z0-9]+/g, ""), phone: `+351 21 ${drawId(rng, 7)}`,
      website: `https://${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.example`, emails: [`hello@${pageId}.example`],
      fan_count: Math.floor(rng() * 5000), followers_count: Math.floor(rng() * 5200),
      tasks: new Map([[user.id, ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"]]]),
      subscriptions: new Map(), conversations: new Map(), threadOwner: null,
    };
    world.pages.set(page.id, page);
    for (let c = 0; c < nConv; c++) {
      const psid = uniqueId(rng, 16, (id) => [...world.pages.values()].some((p) => p.conversations.has(id)));
      // Each conversation starts somewhere in the two days after `base`; messages minutes apart.
      let t = base + Math.floor(rng() * 2 * 86_400_000);
      const conv: Conversation = {
        id: `t_${drawId(rng, 15)}`, pageId, psid, shopperName: `${pick(rng, FIRST)} ${pick(rng, LAST)}`,
        messages: [], updatedTime: t, lastUserActivity: null, deliveredWatermark: 0, readWatermark: 0, unreadByPage: 0,
      };
      for (let m = 0; m < nMsg; m++) {
        t += 60_000 + Math.floor(rng() * 540_000);
        const fromUser = m % 2 === 0;
        const msg: SimMessage = {
          mid: drawMid(rng), from: fromUser ? "user" : "page", text: fromUser ? pick(rng, ASKS) : pick(rng, REPLIES),
          attachments: [], quickReplyPayload: null, replyToMid: null, appId: null, metadata: null, createdTime: t,
        };
        conv.messages.push(msg);
        world.messagesById.set(msg.mid, { conversation: conv, message: msg });
        conv.updatedTime = t;
        if (fromUser) conv.lastUserActivity = t;
        else conv.deliveredWatermark = conv.readWatermark = t;
      }
      page.conversations.set(psid, conv);
      world.conversationsById.set(conv.id, conv);
    }
  }
  return user;
}
