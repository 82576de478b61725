// One row per fire of a cron schedule, claimed by the first process to insert it: with several
// storelink processes on one database, each schedule fires once across the fleet (src/jobs/scheduler.ts).
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("schedule_fires")
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("fire_at", "bigint", (c) => c.notNull()) // the scheduled time (ms), the same in every process
    .addColumn("owner", "text", (c) => c.notNull()) // the process that claimed it
    .addColumn("claimed_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("schedule_fires_pk", ["name", "fire_at"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("schedule_fires").execute();
}
