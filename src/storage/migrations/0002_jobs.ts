// Durable job queue (src/jobs/queue.ts) and the webhook delivery log (src/shopify/webhooks/intake.ts).
// Timestamps are integer milliseconds since the epoch (bigint) in both dialects.
import { PostgresAdapter, sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;

  let jobs = db.schema.createTable("jobs");
  // A monotonically increasing id gives FIFO order among jobs due at the same millisecond.
  jobs = pg
    ? jobs.addColumn("id", "bigint", (c) => c.primaryKey().generatedByDefaultAsIdentity())
    : jobs.addColumn("id", "integer", (c) => c.primaryKey().autoIncrement());
  await jobs
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("shop", "text") // jobs of one shop never run concurrently (see queue.ts claim)
    .addColumn("key", "text") // coalescing key: a pending job with the same kind+key absorbs a new one
    .addColumn("payload", "text", (c) => c.notNull().defaultTo("{}")) // JSON
    .addColumn("run_at", "bigint", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("locked_by", "text") // worker id while claimed; null while pending
    .addColumn("locked_until", "bigint") // lease end; an expired lease makes the job claimable again
    .addColumn("last_error", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  // Coalescing: at most one PENDING (unlocked) job per kind+key. A claimed job leaves the index, so
  // work arriving while it runs gets a fresh pending job.
  await db.schema
    .createIndex("jobs_pending_kind_key")
    .on("jobs")
    .columns(["kind", "key"])
    .unique()
    .where(sql.ref("key"), "is not", null)
    .where(sql.ref("locked_by"), "is", null)
    .execute();
  await db.schema.createIndex("jobs_run_at").on("jobs").columns(["run_at", "id"]).execute();
  await db.schema.createIndex("jobs_shop").on("jobs").columns(["shop", "locked_until"]).execute();

  await db.schema
    .createTable("webhook_deliveries")
    .addColumn("webhook_id", "text", (c) => c.primaryKey()) // X-Shopify-Webhook-Id: duplicates dropped
    .addColumn("shop", "text", (c) => c.notNull())
    .addColumn("topic", "text", (c) => c.notNull())
    .addColumn("api_version", "text")
    .addColumn("event_id", "text")
    .addColumn("triggered_at", "bigint") // X-Shopify-Triggered-At, ms; null when absent or unparsable
    .addColumn("received_at", "bigint", (c) => c.notNull())
    .addColumn("payload", "text", (c) => c.notNull()) // the raw body, exactly as received
    .addColumn("status", "text", (c) => c.notNull().defaultTo("pending")) // pending|applied|skipped|failed
    .addColumn("applied_at", "bigint")
    .addColumn("error", "text")
    .execute();
  await db.schema
    .createIndex("webhook_deliveries_shop_status")
    .on("webhook_deliveries")
    .columns(["shop", "status", "triggered_at", "received_at"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("webhook_deliveries").ifExists().execute();
  await db.schema.dropTable("jobs").ifExists().execute();
}
