// Key rotation: re-encrypt every encrypted column with the current (first) ENCRYPTION_KEY, in one
// transaction. Modules that add encrypted columns append them to ENCRYPTED_COLUMNS (one line).
import type { Kysely } from "kysely";
import type { Db } from "./db.js";
import type { Database } from "./schema.js";
import { pageTokenAad, shopTokenAad, userTokenAad, type Secrets } from "./secrets.js";

/** A column holding Secrets ciphertexts, and how its associated data is built from the row key. */
export interface EncryptedColumn {
  table: keyof Database;
  /** Primary-key column identifying the row (used for associated data and the update). */
  key: string;
  /** The encrypted column (nullable: null values are skipped). */
  column: string;
  /** The associated data a value of this column is bound to, for the row whose key is `keyValue`. */
  aad(keyValue: string): string;
}

/** Every encrypted column storelink has; reencryptAll rotates these by default. */
export const ENCRYPTED_COLUMNS: EncryptedColumn[] = [
  { table: "shops", key: "domain", column: "access_token_enc", aad: (d) => shopTokenAad(d, "access_token") },
  { table: "shops", key: "domain", column: "refresh_token_enc", aad: (d) => shopTokenAad(d, "refresh_token") },
  { table: "facebook_pages", key: "page_id", column: "access_token_enc", aad: pageTokenAad },
  { table: "facebook_accounts", key: "fb_user_id", column: "access_token_enc", aad: userTokenAad },
];

/** Per-column result of reencryptAll. */
export interface RotationCount {
  /** "<table>.<column>". */
  column: string;
  /** Values re-encrypted with the current key. */
  reencrypted: number;
  /** Values already under the current key, left alone. */
  alreadyCurrent: number;
}

/**
 * Re-encrypts, with the current key, every non-null value of `columns` not already under it, in one
 * transaction: if any value fails to decrypt, nothing is changed and the error names its row.
 * Returns per-column counts.
 */
export async function reencryptAll(db: Db, secrets: Secrets, columns: EncryptedColumn[] = ENCRYPTED_COLUMNS): Promise<RotationCount[]> {
  return db.transaction().execute(async (trx) => {
    const counts: RotationCount[] = [];
    for (const c of columns) {
      // Dynamic table/column names: typed loosely here, values still bound as parameters.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const t = trx as unknown as Kysely<any>;
      const rows: Array<Record<string, string | null>> = await t
        .selectFrom(c.table)
        .select([c.key, c.column])
        .where(c.column, "is not", null)
        .execute();
      const count: RotationCount = { column: `${c.table}.${c.column}`, reencrypted: 0, alreadyCurrent: 0 };
      for (const r of rows) {
        const keyValue = String(r[c.key]);
        const value = r[c.column]!;
        if (secrets.isCurrent(value)) {
          count.alreadyCurrent++;
          continue;
        }
        const aad = c.aad(keyValue);
        let plain: string;
        try {
          plain = secrets.decrypt(value, aad);
        } catch (err) {
          // Abort the whole rotation (the transaction rolls back) and say which row is at fault.
          throw new Error(`rotation aborted, nothing changed: ${c.table}.${c.column} of ${keyValue}: ${(err as Error).message}`);
        }
        const fresh = secrets.encrypt(plain, aad);
        await t.updateTable(c.table).set({ [c.column]: fresh }).where(c.key, "=", keyValue).where(c.column, "=", value).execute();
        count.reencrypted++;
      }
      counts.push(count);
    }
    return counts;
  });
}
