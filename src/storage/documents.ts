// Document store: where exports for the bot go (users/<uuid>/shopify/<shop>/shop_products.json ...).
// Keys are relative, "/"-separated paths. The files implementation lives under DATA_DIR and writes
// atomically (temp file in the same directory, fsync, rename, fsync of the directory), so a reader
// sees the old document or the new one, never a torn one, even across a crash. The S3 (Spaces)
// implementation of the same interface is documents-s3.ts; document-store.ts chooses one.
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, readdir, rename, rm, unlink, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";

/**
 * A store of documents by key (see validateDocumentKey). Every method throws
 * InvalidDocumentKeyError for an invalid key.
 */
export interface DocumentStore {
  /** Writes (creates or replaces) the document atomically: readers see the old or the new one. */
  put(key: string, body: Uint8Array | string): Promise<void>;
  /** Like put, for documents too large to hold in memory: the chunks are written as they come. */
  putStream(key: string, chunks: AsyncIterable<Uint8Array | string>): Promise<void>;
  /** The document's bytes, or null when there is none. */
  get(key: string): Promise<Buffer | null>;
  /** Removes the document; no error when absent. */
  delete(key: string): Promise<void>;
  /** Every key starting with prefix (a plain string prefix, "" for all), sorted. */
  list(prefix: string): Promise<string[]>;
}

/** A document key that is not a safe relative path (the message quotes at most 200 characters of it). */
export class InvalidDocumentKeyError extends Error {
  constructor(key: string) {
    super(`invalid document key: ${JSON.stringify(key.slice(0, 200))}`);
    this.name = "InvalidDocumentKeyError";
  }
}

const TMP_MARK = ".tmp-";

/**
 * Returns `key` if it is a valid document key, else throws InvalidDocumentKeyError. Valid: 1 to
 * 1,024 characters of "/"-separated segments of 1 to 255 characters each, none of them "." or
 * "..", none containing a backslash or NUL, none starting with ".tmp-" (temp files).
 */
export function validateDocumentKey(key: string): string {
  const segs = key.split("/");
  const ok =
    key.length > 0 &&
    key.length <= 1024 &&
    segs.every((s) => s.length > 0 && s.length <= 255 && s !== "." && s !== ".." && !/[\\\0]/.test(s) && !s.startsWith(TMP_MARK));
  if (!ok) throw new InvalidDocumentKeyError(key);
  return key;
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === "ENOENT";
}

/**
 * The files implementation: document `a/b.json` is the file `<rootDir>/a/b.json` (mode 0600,
 * directories created as needed). Writes go to a temp file in the same directory, are fsynced,
 * renamed over the target, and the directory is fsynced (best effort where unsupported).
 */
export function createFileDocumentStore(rootDir: string): DocumentStore {
  const pathOf = (key: string) => join(rootDir, ...validateDocumentKey(key).split("/"));

  async function fsyncDir(dir: string): Promise<void> {
    // Makes the rename durable. Not supported on every platform (Windows): best effort there.
    let fh;
    try {
      fh = await open(dir, "r");
      await fh.sync();
    } catch {
      // ignore: directory fsync is unavailable on this platform
    } finally {
      await fh?.close();
    }
  }

  async function writeAtomically(key: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
    const target = pathOf(key);
    const dir = dirname(target);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `${TMP_MARK}${randomBytes(6).toString("hex")}`);
    const fh = await open(tmp, "wx", 0o600);
    try {
      await write(fh);
      await fh.sync();
    } catch (err) {
      await fh.close();
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await fh.close();
    try {
      await rename(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await fsyncDir(dir);
  }

  return {
    put: (key, body) => writeAtomically(key, (fh) => fh.writeFile(body)),

    putStream: (key, chunks) =>
      writeAtomically(key, async (fh) => {
        // Small chunks are batched into ~1 MB writes.
        let buf: Buffer[] = [];
        let size = 0;
        const flush = async () => {
          if (!size) return;
          const b = Buffer.concat(buf, size);
          for (let off = 0; off < b.length; ) off += (await fh.write(b, off, b.length - off)).bytesWritten;
          buf = [];
          size = 0;
        };
        for await (const c of chunks) {
          const b = typeof c === "string" ? Buffer.from(c) : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
          buf.push(b);
          size += b.length;
          if (size >= 1 << 20) await flush();
        }
        await flush();
      }),

    async get(key) {
      try {
        return await readFile(pathOf(key));
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },

    async delete(key) {
      await rm(pathOf(key), { force: true });
    },

    async list(prefix) {
      // Walk only the deepest directory the prefix names completely.
      const cut = prefix.lastIndexOf("/");
      const baseKey = cut >= 0 ? prefix.slice(0, cut) : "";
      if (baseKey) validateDocumentKey(baseKey);
      const base = baseKey ? join(rootDir, ...baseKey.split("/")) : rootDir;
      const out: string[] = [];
      async function walk(dir: string, keyPrefix: string): Promise<void> {
        let entries;
        try {
          entries = await readdir(dir, { withFileTypes: true });
        } catch (err) {
          if (isNotFound(err)) return;
          throw err;
        }
        for (const e of entries) {
          if (e.name.startsWith(TMP_MARK)) continue;
          const key = keyPrefix ? `${keyPrefix}/${e.name}` : e.name;
          if (e.isDirectory()) {
            if (prefix.startsWith(`${key}/`) || key.startsWith(prefix) || prefix.startsWith(key)) await walk(join(dir, e.name), key);
          } else if (e.isFile() && key.startsWith(prefix)) out.push(key);
        }
      }
      await walk(base, baseKey);
      return out.sort();
    },
  };
}
