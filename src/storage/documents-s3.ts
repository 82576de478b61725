import { Readable } from "node:stream";
import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import { backoffDelay } from "../retry.js";
import { validateDocumentKey, type DocumentStore } from "./documents.js";

/** Where an S3-compatible bucket is and how to sign for it (config.spaces, or a test server). */
export interface S3Location {
  endpoint: string;
  region: string;
  bucket: string;
  key: string;
  secret: string;
}

/** Options of createS3DocumentStore. */
export interface S3DocumentStoreOptions extends S3Location {
  /**
   * Attempts per request, the first included (default 12). Only transient failures are retried
   * (connection refused/reset, timeouts, 5xx, throttling), never a 4xx such as a bad signature.
   */
  maxAttempts?: number;
  /** Backoff before retry n is in [d/2, d], d = min(retryCapMs, retryBaseMs x 2^n) (defaults 250 ms, 20 s):
   *  with the defaults a request keeps trying for about 1 to 2.5 minutes of outage. */
  retryBaseMs?: number;
  retryCapMs?: number;
  /** Called before each retry (logs; tests see the outage being ridden out). */
  onRetry?: (info: { attempt: number; delayMs: number; errorType: string }) => void;
  /** MaxKeys of each ListObjects page (default 1000, S3's maximum). */
  listPageSize?: number;
  /** Part size of streamed (multipart) uploads, bytes (default 8 MiB; S3's minimum is 5 MiB). */
  partSize?: number;
}

/** An S3 document store; check() verifies the bucket and credentials (start-up). */
export interface S3DocumentStore extends DocumentStore {
  readonly bucket: string;
  /** Resolves when the bucket exists and the credentials may use it; else rejects with a S3StoreError. */
  check(): Promise<void>;
  /** Closes the client's sockets. */
  close(): void;
}

/** An S3 failure storelink can explain in one line (wrong credentials, missing bucket, unreachable). */
export class S3StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "S3StoreError";
  }
}

/** The content type a document is stored with: JSON for .json, gzip for .gz, else bytes. */
export function contentTypeOf(key: string): string {
  if (key.endsWith(".json")) return "application/json";
  if (key.endsWith(".gz")) return "application/gzip";
  return "application/octet-stream";
}

type RetryStrategy = NonNullable<S3ClientConfig["retryStrategy"]>;

/**
 * Retries with storelink's backoff (retry.ts), without the SDK standard strategy's retry-token
 * bucket: that bucket empties after ~50 failed retries per client and then stops retrying at all,
 * which is exactly what a store outage of a minute produces. Client errors (4xx) are never retried.
 */
function retryStrategy(maxAttempts: number, baseMs: number, capMs: number, onRetry?: S3DocumentStoreOptions["onRetry"]): RetryStrategy {
  const token = (n: number, delay: number) => ({ getRetryCount: () => n, getRetryDelay: () => delay });
  const s = {
    mode: "storelink-backoff",
    acquireInitialRetryToken: async () => token(0, 0),
    refreshRetryTokenForRetry: async (t: { getRetryCount(): number }, info: { errorType: string }) => {
      const n = t.getRetryCount();
      if (info.errorType === "CLIENT_ERROR" || n + 1 >= maxAttempts) throw new Error("not retried");
      const delayMs = backoffDelay(n, { baseMs, capMs, jitter: "equal" });
      onRetry?.({ attempt: n + 1, delayMs, errorType: info.errorType });
      return token(n + 1, delayMs);
    },
    recordSuccess: () => {},
  };
  return s as unknown as RetryStrategy;
}

type Sdk = typeof import("@aws-sdk/client-s3") & typeof import("@aws-sdk/lib-storage");
let sdkLoading: Promise<Sdk> | undefined;
/** The SDK, loaded on first use: a process on local files never pays for loading it. */
function sdk(): Promise<Sdk> {
  return (sdkLoading ??= Promise.all([import("@aws-sdk/client-s3"), import("@aws-sdk/lib-storage")]).then(([a, b]) => ({ ...a, ...b })));
}

function client(m: Sdk, loc: S3Location, maxAttempts: number, baseMs: number, capMs: number, onRetry?: S3DocumentStoreOptions["onRetry"]): S3Client {
  return new m.S3Client({
    endpoint: loc.endpoint,
    region: loc.region,
    credentials: { accessKeyId: loc.key, secretAccessKey: loc.secret },
    // Path-style addressing (endpoint/bucket/key): works on Spaces, MinIO and s3rver alike, and needs
    // no wildcard DNS for the bucket name.
    forcePathStyle: true,
    // SDK 3.729+ adds a CRC32 checksum to every upload by default (aws-chunked trailers) and checks
    // response checksums. Several S3-compatible servers reject or mangle those (s3rver stores the
    // chunk framing as the body; older Spaces/MinIO answered 400 or 501). Send checksums only where
    // the API requires them; transport integrity still comes from TLS and the SigV4 payload hash.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    retryStrategy: retryStrategy(maxAttempts, baseMs, capMs, onRetry),
  });
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isNoSuchKey(err: unknown): boolean {
  const name = (err as Error)?.name;
  return name === "NoSuchKey" || name === "NotFound" || statusOf(err) === 404;
}

/** Turns an SDK failure into a one-line explanation naming the variables to check. */
export function explainS3Error(err: unknown, loc: Pick<S3Location, "endpoint" | "bucket">): S3StoreError {
  const status = statusOf(err);
  const name = (err as Error)?.name ?? "Error";
  const code = (err as NodeJS.ErrnoException)?.code;
  let what: string;
  if (status === 403 || status === 401 || /InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|Forbidden/.test(name)) {
    const shown = name === "Unknown" || /^\d+$/.test(name) ? "" : `${name}, `;
    what = `the bucket refused SPACES_KEY/SPACES_SECRET (${shown}HTTP ${status ?? "?"}): check the key pair and its access to the bucket`;
  } else if (status === 404 || name === "NoSuchBucket" || name === "NotFound") {
    what = `bucket ${JSON.stringify(loc.bucket)} does not exist at ${loc.endpoint}: check SPACES_BUCKET and SPACES_REGION/SPACES_ENDPOINT`;
  } else if (code || status === undefined) {
    what = `cannot reach SPACES_ENDPOINT ${loc.endpoint} (${code ?? name}: ${(err as Error)?.message ?? String(err)})`;
  } else {
    what = `${name} (HTTP ${status}) from ${loc.endpoint}`;
  }
  return new S3StoreError(`document store: ${what}`, { cause: err });
}

/**
 * The S3 implementation of DocumentStore (DigitalOcean Spaces in production; any S3-compatible
 * server). Keys are object keys as they are (validated like the files store's). put is one
 * PutObject (atomic: readers see the old or the new object); putStream is a multipart upload
 * (@aws-sdk/lib-storage) that sends parts as the chunks come, aborted (the old object kept) when
 * the source fails; list pages through ListObjects. Every request retries transient failures
 * with backoff (see S3DocumentStoreOptions.maxAttempts).
 */
export function createS3DocumentStore(opts: S3DocumentStoreOptions): S3DocumentStore {
  const maxAttempts = opts.maxAttempts ?? 12;
  const baseMs = opts.retryBaseMs ?? 250;
  const capMs = opts.retryCapMs ?? 20_000;
  let ready: Promise<{ m: Sdk; s3: S3Client }> | undefined;
  let closed = false;
  const open = () => (ready ??= sdk().then((m) => ({ m, s3: client(m, opts, maxAttempts, baseMs, capMs, opts.onRetry) })));
  const Bucket = opts.bucket;
  const pageSize = opts.listPageSize ?? 1000;
  const partSize = Math.max(5 << 20, opts.partSize ?? 8 << 20);

  return {
    bucket: Bucket,

    async put(key, body) {
      validateDocumentKey(key);
      const { m, s3 } = await open();
      await s3.send(new m.PutObjectCommand({ Bucket, Key: key, Body: typeof body === "string" ? Buffer.from(body) : body, ContentType: contentTypeOf(key) }));
    },

    async putStream(key, chunks) {
      validateDocumentKey(key);
      const { m, s3 } = await open();
      async function* buffers() {
        for await (const c of chunks) yield typeof c === "string" ? Buffer.from(c) : c;
      }
      const upload = new m.Upload({
        client: s3,
        // Two parts in flight at most: memory stays near 2 x partSize whatever the document's size.
        queueSize: 2,
        partSize,
        leavePartsOnError: false,
        params: { Bucket, Key: key, Body: Readable.from(buffers()), ContentType: contentTypeOf(key) },
      });
      await upload.done();
    },

    async get(key) {
      validateDocumentKey(key);
      const { m, s3 } = await open();
      try {
        const r = await s3.send(new m.GetObjectCommand({ Bucket, Key: key }));
        return Buffer.from(await r.Body!.transformToByteArray());
      } catch (err) {
        if (isNoSuchKey(err)) return null;
        throw err;
      }
    },

    async delete(key) {
      validateDocumentKey(key);
      // One DeleteObject per key: DeleteObjects requires a Content-MD5/CRC checksum that not every
      // S3-compatible server accepts, and deletes here are a shop's handful of documents.
      const { m, s3 } = await open();
      await s3.send(new m.DeleteObjectCommand({ Bucket, Key: key }));
    },

    async list(prefix) {
      const { m, s3 } = await open();
      const out: string[] = [];
      // ListObjects (v1), each page starting after the last key of the previous one (keys come in
      // order; without a delimiter that is S3's documented way to page v1). Not v2: s3rver makes its
      // v2 continuation tokens with DES, which Node 20's OpenSSL 3 no longer has, so every truncated
      // v2 listing fails there. S3 and Spaces answer both the same.
      let after: string | undefined;
      for (;;) {
        const r = await s3.send(new m.ListObjectsCommand({ Bucket, Prefix: prefix || undefined, Marker: after, MaxKeys: pageSize }));
        const page = r.Contents ?? [];
        for (const o of page) {
          if (!o.Key) continue;
          try {
            out.push(validateDocumentKey(o.Key));
          } catch {
            // An object put there by something else with a key no document can have: not a document.
          }
        }
        const last = page[page.length - 1]?.Key;
        if (!r.IsTruncated || !last) break;
        after = last;
      }
      return out.sort();
    },

    async check() {
      // A start-up check should answer in seconds, not after the outage-sized retry budget.
      const m = await sdk();
      const quick = client(m, opts, 2, 200, 1000);
      try {
        await quick.send(new m.HeadBucketCommand({ Bucket }));
      } catch (err) {
        throw explainS3Error(err, opts);
      } finally {
        quick.destroy();
      }
    },

    close() {
      if (closed) return;
      closed = true;
      void ready?.then(({ s3 }) => s3.destroy());
    },
  };
}
