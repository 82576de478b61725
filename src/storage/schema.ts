// Row types of every table, as Kysely sees them. One interface per table; Database lists them.
// Timestamps are epoch milliseconds (number). Booleans are 0/1 integers (portable).

import type { Generated } from "kysely";

export interface UsersTable {
  id: string;
  created_at: number;
}

export type ShopStatus = "active" | "needs_reauth" | "uninstalled";

export interface ShopsTable {
  domain: string;
  user_id: string;
  scopes: string;
  access_token_enc: string | null;
  access_token_expires_at: number | null;
  refresh_token_enc: string | null;
  refresh_token_expires_at: number | null;
  status: ShopStatus;
  installed_at: number;
  uninstalled_at: number | null;
  updated_at: number;
}

export interface SessionsTable {
  id_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
}

export interface OAuthStatesTable {
  nonce_hash: string;
  provider: string;
  subject: string;
  user_id: string | null;
  created_at: number;
  expires_at: number;
}

// Catalog mirror (migration 0003_catalog; written by src/shopify/catalog/store.ts only).
export interface CatalogProductsTable {
  shop: string;
  id: string;
  /** Exact text ordering of the id's numeric tail (zero-padded); never a float. */
  sort_key: string;
  updated_at: number;
  deleted: number;
  data: string;
  stored_at: number;
}

export interface CatalogInventoryLevelsTable {
  shop: string;
  inventory_item_id: string;
  location_id: string;
  available: number;
  updated_at: number;
}

export interface CatalogCollectionsTable {
  shop: string;
  id: string;
  /** Exact text ordering of the id's numeric tail (zero-padded); never a float. */
  sort_key: string;
  updated_at: number;
  deleted: number;
  data: string;
}

export interface CatalogCollectionProductsTable {
  shop: string;
  collection_id: string;
  product_id: string;
}

export interface CatalogDiscountsTable {
  shop: string;
  id: string;
  data: string;
  /** When the read that wrote this row began (ms); a write from an earlier read never replaces it. */
  fetched_at: Generated<number>;
  /** 1: Shopify no longer has the discount (a tombstone, not exported). */
  deleted: Generated<number>;
}

export interface CatalogShopMetadataTable {
  shop: string;
  data: string;
  updated_at: number;
}

export type SyncStatus = "idle" | "running" | "failed";

export interface CatalogSyncStateTable {
  shop: string;
  status: SyncStatus;
  mode: string | null;
  started_at: number | null;
  last_full_sync_at: number | null;
  last_good_sync_at: number | null;
  last_reconcile_at: number | null;
  checkpoint: string | null;
  product_count: number;
  drift_repaired_last: number;
  drift_repaired_total: number;
  last_error: string | null;
  updated_at: number;
}

/**
 * Catalog search index (migration 0006_search; written by src/shopify/catalog/store/search-index.ts
 * in the same transaction as the product write). One row per stored live product; on SQLite `doc`
 * is also the rowid of its FTS5 row (catalog_search_fts), on PostgreSQL the table has a generated
 * `tsv` column and a pg_trgm index on `search_text`.
 */
export interface CatalogSearchTable {
  doc: Generated<number>;
  shop: string;
  product_id: string;
  /** 1: status ACTIVE (the only products search ever offers). */
  sellable: number;
  title: string;
  handle: string;
  vendor: string;
  product_type: string;
  /** Tags, option names and values, variant titles, custom text metafields. */
  attrs: string;
  /** SKUs and barcodes. */
  codes: string;
  /** Description as plain text (bounded). */
  description: string;
  /** Lower-cased, accent-free title + vendor + type + attrs + codes (PostgreSQL trigram index). */
  search_text: string;
}

/** The vocabulary misspelt query words are corrected against (SQLite: `id` is the rowid of catalog_search_words_fts). */
export interface CatalogSearchWordsTable {
  id: Generated<number>;
  shop: string;
  word: string;
}

/** Shops stored before migration 0006 whose products still need indexing (done on the first search). */
export interface CatalogSearchBackfillTable {
  shop: string;
}

/** Variants of indexed products, for price and stock filters. */
export interface CatalogSearchVariantsTable {
  shop: string;
  product_id: string;
  variant_id: string;
  inventory_item_id: string;
  title: string;
  position: number;
  sku: string | null;
  /** The price string exactly as stored in the product. */
  price: string;
  /** selectedOptions JSON ([{name, value}]). */
  options: string;
  /** Price in 1/10,000 of the currency unit, parsed exactly from the decimal string. */
  price_units: number;
  /** 1: inventoryPolicy CONTINUE (sellable when out of stock). */
  continue_selling: number;
}

/** Durable job queue (src/jobs/queue.ts). payload is JSON text. */
export interface JobsTable {
  id: Generated<number>;
  kind: string;
  /** Jobs with the same serial key never run at once; null: no such constraint. */
  serial_key: string | null;
  key: string | null;
  payload: string;
  run_at: number;
  attempts: number;
  locked_by: string | null;
  locked_until: number | null;
  last_error: string | null;
  created_at: number;
}

export type WebhookDeliveryStatus = "pending" | "applied" | "skipped" | "failed";

/** Every accepted Shopify webhook delivery, keyed by X-Shopify-Webhook-Id. payload is the raw body. */
export interface WebhookDeliveriesTable {
  webhook_id: string;
  shop: string;
  topic: string;
  api_version: string | null;
  event_id: string | null;
  triggered_at: number | null;
  received_at: number;
  payload: string;
  status: WebhookDeliveryStatus;
  applied_at: number | null;
  error: string | null;
}

export interface Database {
  users: UsersTable;
  shops: ShopsTable;
  sessions: SessionsTable;
  oauth_states: OAuthStatesTable;
  catalog_products: CatalogProductsTable;
  catalog_inventory_levels: CatalogInventoryLevelsTable;
  catalog_collections: CatalogCollectionsTable;
  catalog_collection_products: CatalogCollectionProductsTable;
  catalog_discounts: CatalogDiscountsTable;
  catalog_shop_metadata: CatalogShopMetadataTable;
  catalog_sync_state: CatalogSyncStateTable;
  catalog_search: CatalogSearchTable;
  catalog_search_variants: CatalogSearchVariantsTable;
  catalog_search_words: CatalogSearchWordsTable;
  catalog_search_backfill: CatalogSearchBackfillTable;
  jobs: JobsTable;
  webhook_deliveries: WebhookDeliveriesTable;
}

// Facebook (migration 0005_facebook; written by src/facebook/** only).

/** A merchant's Facebook user, linked to their storelink user; token = long-lived user token, encrypted. */
export interface FacebookAccountsTable {
  fb_user_id: string;
  user_id: string;
  name: string | null;
  scopes: string;
  access_token_enc: string | null;
  access_token_expires_at: number | null;
  connected_at: number;
  updated_at: number;
}

export type FacebookPageStatus = "active" | "needs_reauth" | "disconnected";

/** A connected Page with its own Page token (encrypted, bound to the row). */
export interface FacebookPagesTable {
  page_id: string;
  user_id: string;
  fb_user_id: string;
  name: string;
  category: string | null;
  tasks: string;
  details: string | null;
  access_token_enc: string | null;
  status: FacebookPageStatus;
  subscribed_fields: string | null;
  subscribed_at: number | null;
  details_at: number | null;
  last_poll_at: number | null;
  last_good_poll_at: number | null;
  connected_at: number;
  disconnected_at: number | null;
  updated_at: number;
}

export type FacebookEventKind = "message" | "echo" | "delivery" | "read" | "postback" | "referral";
export type FacebookEventStatus = "pending" | "applied" | "failed";

/** Every accepted Messenger webhook event, keyed by its dedupe key. payload is the event's JSON. */
export interface FacebookEventsTable {
  event_key: string;
  page_id: string;
  psid: string;
  kind: FacebookEventKind;
  source: "messaging" | "standby";
  event_time: number;
  received_at: number;
  payload: string;
  status: FacebookEventStatus;
  applied_at: number | null;
  error: string | null;
}

export interface FacebookConversationsTable {
  page_id: string;
  psid: string;
  delivered_watermark: number;
  read_watermark: number;
  last_user_activity: number | null;
  last_message_at: number | null;
  updated_at: number;
}

export interface FacebookMessagesTable {
  page_id: string;
  mid: string;
  psid: string;
  from_page: number;
  text: string | null;
  attachments: string;
  app_id: string | null;
  quick_reply_payload: string | null;
  reply_to_mid: string | null;
  created_time: number;
  stored_at: number;
}

// Declaration merging adds the Facebook tables to Database.
export interface Database {
  facebook_accounts: FacebookAccountsTable;
  facebook_pages: FacebookPagesTable;
  facebook_events: FacebookEventsTable;
  facebook_conversations: FacebookConversationsTable;
  facebook_messages: FacebookMessagesTable;
}

// Scheduler (migration 0009_schedule_fires; written by src/jobs/scheduler.ts only).

/** One fire of a cron schedule, claimed by the process that inserted it first. */
export interface ScheduleFiresTable {
  name: string;
  fire_at: number;
  owner: string;
  claimed_at: number;
}

export interface Database {
  schedule_fires: ScheduleFiresTable;
}

// The sales bot (migration 0007_bot; written by src/bot/** only).

export interface BotPagesTable {
  page_id: string;
  instructions: string | null;
  paused: number;
  updated_at: number;
}

export interface BotConversationsTable {
  page_id: string;
  psid: string;
  paused_until: number | null;
  pause_mid: string | null;
  updated_at: number;
}

export type BotReplyStatus = "queued" | "composed" | "sent" | "skipped" | "failed";

export interface BotRepliesTable {
  page_id: string;
  mid: string;
  psid: string;
  status: BotReplyStatus;
  reason: string | null;
  reply_text: string | null;
  parts_sent: number;
  sending_at: number | null;
  sent_mids: string;
  grounded: number | null;
  message_time: number;
  created_at: number;
  updated_at: number;
}

export interface Database {
  bot_pages: BotPagesTable;
  bot_conversations: BotConversationsTable;
  bot_replies: BotRepliesTable;
}
