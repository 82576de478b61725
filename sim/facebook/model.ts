// The simulator's world: users (merchants), their Pages, the shoppers (PSIDs) who message each
// Page, and each conversation's messages. Ids are strings everywhere (numeric strings of 15-17
// digits for users, Pages and PSIDs, as Meta issues them); nothing here goes through Number.

/** A merchant's Facebook account. */
export interface SimUser {
  id: string; // 17 digits
  name: string;
}

/** Page fields the simulator serves through /{page-id}?fields=... (and the control API changes). */
export interface PageDetails {
  name: string;
  category: string;
  about: string;
  description: string;
  username: string | null;
  phone: string | null;
  website: string | null;
  emails: string[];
  fan_count: number;
  followers_count: number;
}

export interface SimPage extends PageDetails {
  id: string; // 15 digits
  /** User id -> the tasks that user has on the Page (MANAGE, MODERATE, MESSAGING, ...). */
  tasks: Map<string, string[]>;
  /** App id -> fields the Page subscribed the app to (POST /{page-id}/subscribed_apps). */
  subscriptions: Map<string, string[]>;
  /** Handover protocol: the app in control of the Page's threads (null: none set). Other apps get `standby`. */
  threadOwner: string | null;
  /** PSID -> conversation. */
  conversations: Map<string, Conversation>;
}

export interface SimMessage {
  mid: string;
  /** "user" = the shopper wrote it; "page" = the Page (through an app or the Page inbox). */
  from: "user" | "page";
  text: string | null;
  attachments: { type: string; url: string }[];
  quickReplyPayload: string | null;
  replyToMid: string | null;
  /** For Page messages sent through the Send API: the sending app. */
  appId: string | null;
  metadata: string | null;
  createdTime: number; // epoch ms
}

export interface Conversation {
  id: string; // "t_" + digits
  pageId: string;
  psid: string; // 16 digits
  shopperName: string;
  messages: SimMessage[]; // oldest first
  updatedTime: number;
  /** Last time the shopper messaged (or tapped a postback, or came through a referral): opens the 24 h window. */
  lastUserActivity: number | null;
  /** Shopper's device: watermark of Page messages delivered and read. */
  deliveredWatermark: number;
  readWatermark: number;
  /** Page messages the shopper has not read yet (unread_count counts the Page's unread user messages). */
  unreadByPage: number;
}

export interface FbWorld {
  users: Map<string, SimUser>;
  pages: Map<string, SimPage>;
  conversationsById: Map<string, Conversation>;
  messagesById: Map<string, { conversation: Conversation; message: SimMessage }>;
}

export function newWorld(): FbWorld {
  return { users: new Map(), pages: new Map(), conversationsById: new Map(), messagesById: new Map() };
}

/** True for a numeric id string of 15-17 digits (user, Page, PSID). */
export function isFbId(s: unknown): s is string {
  return typeof s === "string" && /^[1-9]\d{14,16}$/.test(s);
}

export function pageDetails(p: SimPage): PageDetails & { id: string } {
  return {
    id: p.id, name: p.name, category: p.category, about: p.about, description: p.description, username: p.username,
    phone: p.phone, website: p.website, emails: [...p.emails], fan_count: p.fan_count, followers_count: p.followers_count,
  };
}
