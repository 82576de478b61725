// Row types of every table, as Kysely sees them. One interface per table; Database lists them.
// Timestamps are epoch milliseconds (number). Booleans are 0/1 integers (portable).

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

export interface Database {
  users: UsersTable;
  shops: ShopsTable;
  sessions: SessionsTable;
  oauth_states: OAuthStatesTable;
}
