// Users: one UUID per merchant, linking their shops and Facebook Pages.
import { randomUUID } from "node:crypto";
import type { Db } from "./db.js";
import type { UsersTable } from "./schema.js";

/** A user row: its UUID and creation time (epoch ms). */
export type User = UsersTable;

/** Creates a user with a fresh random UUID, created at `at` (epoch ms). */
export async function createUser(db: Db, at = Date.now()): Promise<User> {
  const user: User = { id: randomUUID(), created_at: at };
  await db.insertInto("users").values(user).execute();
  return user;
}

/** The user with this UUID, if any. */
export async function getUser(db: Db, id: string): Promise<User | undefined> {
  return db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
}

/** The user that owns a shop, if the shop is known (installed now or before). */
export async function getUserByShop(db: Db, domain: string): Promise<User | undefined> {
  return db
    .selectFrom("users")
    .innerJoin("shops", "shops.user_id", "users.id")
    .select(["users.id", "users.created_at"])
    .where("shops.domain", "=", domain)
    .executeTakeFirst();
}

/** Whether the user owns any shop (installed now or before). */
export async function userOwnsShops(db: Db, id: string): Promise<boolean> {
  return (await db.selectFrom("shops").select("domain").where("user_id", "=", id).limit(1).executeTakeFirst()) !== undefined;
}
