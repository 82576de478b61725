// Node's spec reporter, with skipped suites counted. Node 20 counts a skipped describe() under
// "suites" but not under "skipped" (its tests are never created), so a run without
// TEST_DATABASE_URL used to print "skipped 0" while every PostgreSQL half was left out.
// This reporter adds skipped suites to the "skipped" total, prints one line per reason for the
// PostgreSQL halves ("PostgreSQL: not run, set TEST_DATABASE_URL") and for the browser tests
// when Chromium is missing ("Browser: not run, no Chromium at ..."), and writes the counts as JSON
// to $STORELINK_TEST_SUMMARY (scripts/run-tests.mjs reads it to enforce REQUIRE_POSTGRES=1).
import { writeFileSync } from "node:fs";
import { Readable } from "node:stream";
import { spec } from "node:test/reporters";

/** The skip reason test/helpers/db.ts gives the PostgreSQL halves; matched here by prefix. */
export const POSTGRES_SKIP = "PostgreSQL: not run, set TEST_DATABASE_URL";
/** The skip reason test/helpers/browser.ts gives the browser tests when Chromium is missing. */
export const BROWSER_SKIP = "Browser: not run, no Chromium";

export default async function* storelinkReporter(source) {
  const counts = { skippedTests: 0, skippedSuites: 0, postgresSkipped: 0, browserSkipped: 0, failed: 0 };
  const postgresSuites = [];
  const browserSuites = [];
  let browserReason = "";
  async function* rewrite() {
    for await (const event of source) {
      const data = event.data ?? {};
      if ((event.type === "test:pass" || event.type === "test:fail") && data.skip !== undefined) {
        if (data.details?.type === "suite") counts.skippedSuites++;
        else counts.skippedTests++;
        if (typeof data.skip === "string" && data.skip.startsWith(POSTGRES_SKIP)) {
          counts.postgresSkipped++;
          postgresSuites.push(data.name);
        }
        if (typeof data.skip === "string" && data.skip.startsWith(BROWSER_SKIP)) {
          counts.browserSkipped++;
          browserSuites.push(data.name);
          browserReason = data.skip;
        }
      }
      if (event.type === "test:fail") counts.failed++;
      if (event.type === "test:diagnostic" && data.nesting === 0 && typeof data.message === "string") {
        const m = /^skipped (\d+)$/.exec(data.message);
        if (m) {
          // Node's own number counts skipped tests only; skipped suites are added here.
          const total = Number(m[1]) + counts.skippedSuites;
          yield { ...event, data: { ...data, message: `skipped ${total} (${m[1]} tests, ${counts.skippedSuites} suites)` } };
          if (counts.postgresSkipped) {
            yield { ...event, data: { ...data, message: `${POSTGRES_SKIP} (${counts.postgresSkipped} ${counts.postgresSkipped === 1 ? "suite" : "suites"} skipped)` } };
          }
          if (counts.browserSkipped) {
            yield { ...event, data: { ...data, message: `${browserReason} (${counts.browserSkipped} ${counts.browserSkipped === 1 ? "suite" : "suites"} skipped)` } };
          }
          continue;
        }
      }
      yield event;
    }
    if (process.env.STORELINK_TEST_SUMMARY) {
      writeFileSync(process.env.STORELINK_TEST_SUMMARY, JSON.stringify({ ...counts, postgresSuites, browserSuites }));
    }
  }
  yield* Readable.from(rewrite()).pipe(new spec());
}
