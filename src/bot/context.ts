// What the model sees for one reply: a system message (the shop's and the Page's public details,
// picked field by field, never a row as a whole and never a token; the merchant's instructions;
// the rules) and the conversation's last N messages up to the one being answered. The catalog is
// not in the prompt: the model reaches it through the tools.
import type { ChatMessage } from "./llm.js";
import type { Db } from "../storage/db.js";

export interface ShopInfo {
  domain: string;
  name: string | null;
  currency: string | null;
  website: string | null;
}

export interface PageInfo {
  pageId: string;
  userId: string;
  name: string;
  category: string | null;
  about: string | null;
  website: string | null;
  phone: string | null;
}

export interface ReplyContext {
  page: PageInfo;
  shops: ShopInfo[];
  instructions: string | null;
  messages: ChatMessage[];
}

const str = (v: unknown, max = 500): string | null => (typeof v === "string" && v.trim() ? v.trim().slice(0, max) : null);

/** The Page (public details only) or null when it has no row. */
export async function loadPage(db: Db, pageId: string): Promise<PageInfo | null> {
  const r = await db.selectFrom("facebook_pages").select(["page_id", "user_id", "name", "category", "details", "status"]).where("page_id", "=", pageId).executeTakeFirst();
  if (!r) return null;
  let d: Record<string, unknown> = {};
  try {
    d = r.details ? (JSON.parse(r.details) as Record<string, unknown>) : {};
  } catch {
    d = {};
  }
  return { pageId: r.page_id, userId: r.user_id, name: r.name, category: r.category, about: str(d.about) ?? str(d.description), website: str(d.website, 200), phone: str(d.phone, 50) };
}

/** The active shops of the Page's owner (the same user UUID), by domain. */
export async function loadShops(db: Db, userId: string): Promise<ShopInfo[]> {
  const rows = await db
    .selectFrom("shops")
    .leftJoin("catalog_shop_metadata", "catalog_shop_metadata.shop", "shops.domain")
    .select(["shops.domain", "catalog_shop_metadata.data"])
    .where("shops.user_id", "=", userId)
    .where("shops.status", "=", "active")
    .orderBy("shops.domain")
    .execute();
  return rows.map((r) => {
    let m: Record<string, unknown> = {};
    try {
      m = r.data ? (JSON.parse(r.data) as Record<string, unknown>) : {};
    } catch {
      m = {};
    }
    return { domain: r.domain, name: str(m.name, 200), currency: str(m.currencyCode, 3), website: str(m.primaryDomain, 200) };
  });
}

/** The conversation's last `limit` messages up to and including `mid`, oldest first, as chat messages. */
export async function loadHistory(db: Db, pageId: string, psid: string, mid: string, messageTime: number, limit: number): Promise<ChatMessage[]> {
  const rows = await db
    .selectFrom("facebook_messages")
    .select(["mid", "from_page", "text", "attachments", "created_time"])
    .where("page_id", "=", pageId)
    .where("psid", "=", psid)
    .where("created_time", "<=", messageTime)
    .orderBy("created_time", "desc")
    .orderBy("mid", "desc")
    .limit(limit + 5)
    .execute();
  // Messages stamped in the same millisecond as the one answered but after it are not part of it.
  const upTo = rows.findIndex((r) => r.mid === mid);
  const kept = (upTo >= 0 ? rows.slice(upTo) : rows).slice(0, limit).reverse();
  return kept.map((r) => {
    let text = r.text ?? "";
    let att: { type: string }[] = [];
    try {
      att = JSON.parse(r.attachments) as { type: string }[];
    } catch {
      att = [];
    }
    if (att.length) text = `${text}${text ? " " : ""}[sent ${att.map((a) => `an ${a.type}`).join(", ")}]`;
    return { role: Number(r.from_page) === 1 ? "assistant" : "user", content: text.slice(0, 4000) } as ChatMessage;
  });
}

/** The system message: who the assistant is, the shop and Page details, the instructions, the rules. */
export function systemPrompt(c: Omit<ReplyContext, "messages">): string {
  const lines = [
    `You are the shopping assistant of the Facebook Page "${c.page.name}"${c.page.category ? ` (${c.page.category})` : ""}, answering shoppers on Messenger.`,
  ];
  if (c.page.about) lines.push(`About the Page: ${c.page.about}`);
  if (c.page.website) lines.push(`Website: ${c.page.website}`);
  for (const s of c.shops) lines.push(`Shop: ${s.name ?? s.domain}${s.currency ? `, prices in ${s.currency}` : ""}${s.website ? `, ${s.website}` : ""}.`);
  if (!c.shops.length) lines.push("No shop is connected: you cannot look up products.");
  if (c.instructions) lines.push(`The merchant's instructions:\n${c.instructions.slice(0, 4000)}`);
  lines.push(
    "Rules:",
    "- Look products up with the tools (search_products, then get_product or check_availability; list_discounts for offers). Never guess.",
    "- Name only products the tools returned in this conversation turn, and quote prices and stock exactly as the tools return them.",
    "- If nothing matches, say so plainly; do not suggest products you did not look up.",
    "- Keep answers short and friendly, plain text without markdown.",
  );
  return lines.join("\n");
}
