import { readFile } from "node:fs/promises";
import type { Config } from "../src/config.js";
import type { Logger } from "../src/log.js";
import type { Db } from "../src/storage/db.js";

/** The storelink server a demo drives: its URL and the parts of its context the demo reads. */
export interface DemoServer {
  url: string;
  ctx: { db: Db; log: Logger; config: Config };
}

/** What a page load answers once the redirects are followed. */
export interface Page {
  status: number;
  url: string;
  body: string;
}

/** A browser for the demo: one cookie jar across every page it loads (one storelink session). */
export interface Browser {
  get(url: string): Promise<Page>;
}

/**
 * A browser that follows redirects by hand, carrying cookies (fetch drops Set-Cookie on
 * redirects). Cookie attributes (path, domain, expiry) are ignored: the demo talks to one host.
 */
export function createBrowser(maxHops = 6): Browser {
  const jar = new Map<string, string>();
  return {
    async get(startUrl) {
      let url = startUrl;
      for (let hop = 0; hop < maxHops; hop++) {
        const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
        const res = await fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });
        for (const c of res.headers.getSetCookie()) {
          const [pair] = c.split(";");
          const i = pair!.indexOf("=");
          jar.set(pair!.slice(0, i).trim(), pair!.slice(i + 1).trim());
        }
        const loc = res.headers.get("location");
        if (res.status >= 300 && res.status < 400 && loc) {
          url = new URL(loc, url).toString();
          continue;
        }
        return { status: res.status, url, body: await res.text() };
      }
      throw new Error(`demo: too many redirects from ${startUrl}`);
    },
  };
}

/** Polls `fn` every 100 ms until it returns something truthy; throws "timed out waiting for <what>". */
export async function demoWait<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`demo: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A JSON file's contents, or null while it does not exist (or is not complete JSON). */
export async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch {
    return null;
  }
}
