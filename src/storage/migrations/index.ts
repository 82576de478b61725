// Ordered list of migrations. Each is a module with up(db) [and down(db)] written with Kysely's
// schema builder, so it runs unchanged on SQLite and PostgreSQL. Add new ones at the end.
import type { Migration } from "kysely";
import * as m0001 from "./0001_foundation.js";
import * as m0002 from "./0002_jobs.js";
import * as m0003 from "./0003_catalog.js";
import * as m0004 from "./0004_serial_keys.js";
import * as m0005 from "./0005_facebook.js";
import * as m0006 from "./0006_search.js";
import * as m0007 from "./0007_bot.js";
import * as m0009 from "./0009_schedule_fires.js";
import * as m0010 from "./0010_discount_versions.js";

export const migrations: Record<string, Migration> = {
  "0001_foundation": m0001,
  "0002_jobs": m0002,
  "0003_catalog": m0003,
  "0004_serial_keys": m0004,
  "0005_facebook": m0005,
  "0006_search": m0006,
  "0007_bot": m0007,
  "0009_schedule_fires": m0009,
  "0010_discount_versions": m0010,
};
