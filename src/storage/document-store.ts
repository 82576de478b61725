import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { createFileDocumentStore, type DocumentStore } from "./documents.js";
import { createS3DocumentStore, type S3Location } from "./documents-s3.js";

/** The bucket of config.spaces as an S3 location, or null when no bucket is configured. */
export function spacesLocation(config: Pick<Config, "spaces">): S3Location | null {
  return config.spaces ? { ...config.spaces } : null;
}

/**
 * The document store this configuration asks for: the Spaces (S3) bucket when SPACES_* is set,
 * else files under DATA_DIR. The one place that chooses; every integration and command calls it.
 */
export function openDocumentStore(config: Pick<Config, "spaces" | "dataDir">, log?: Logger): DocumentStore {
  const loc = spacesLocation(config);
  if (!loc) return createFileDocumentStore(config.dataDir);
  // Retries are logged (a store outage shows in the logs while exports wait it out).
  const onRetry = log ? (i: { attempt: number; delayMs: number; errorType: string }) => log.warn({ component: "documents", ...i }, "document store request failed; retrying") : undefined;
  return createS3DocumentStore({ ...loc, onRetry });
}

/**
 * Start-up check of the configured bucket (no-op for files): rejects with one line (S3StoreError)
 * when the bucket is missing, the key pair is refused or the endpoint cannot be reached.
 */
export async function checkDocumentStore(config: Pick<Config, "spaces">): Promise<void> {
  const loc = spacesLocation(config);
  if (!loc) return;
  const store = createS3DocumentStore(loc);
  try {
    await store.check();
  } finally {
    store.close();
  }
}
