// A real S3-compatible server for tests: s3rver (npm) on 127.0.0.1, its objects in a directory the
// caller owns, stoppable and restartable on the same port (outage tests).
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { S3Location } from "../../src/storage/documents-s3.js";

const require = createRequire(import.meta.url);

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;

export interface TestS3Server {
  /** Credentials s3rver accepts (its default account) and the bucket it created. */
  location: S3Location;
  port: number;
  stop(): Promise<void>;
  /** Starts again on the same port with the same objects. */
  start(): Promise<void>;
}

/** Starts s3rver with `bucket` (default "storelink") storing under `dir`; port 0 = ephemeral. */
export async function startS3Server(dir: string, opts: { bucket?: string; port?: number } = {}): Promise<TestS3Server> {
  const S3rver = require("s3rver") as S3rverCtor;
  const bucket = opts.bucket ?? "storelink";
  let port = opts.port ?? 0;
  let server: S3rverInstance | null = null;
  async function start(): Promise<void> {
    server = new S3rver({ address: "127.0.0.1", port, silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
    const addr = await server.run();
    port = addr.port;
  }
  await start();
  return {
    location: { endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", bucket, key: "S3RVER", secret: "S3RVER" },
    port,
    async stop() {
      const s = server;
      server = null;
      if (!s) return;
      // Keep-alive sockets of the SDK would hold close() open: end them.
      s.httpServer?.closeAllConnections?.();
      await s.close();
    },
    start,
  };
}
