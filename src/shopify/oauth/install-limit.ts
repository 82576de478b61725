// Bounds the OAuth states an install start may create: each `/shopify/install` or `/login` writes
// one `oauth_states` row that lives OAUTH_STATE_TTL_SECONDS unless its callback consumes it.
// Per client IP (this process, in memory): at most `perClient` starts within a state's lifetime.
// In all (the database, every process): at most `max` live states. Over either cap the start is
// refused with 429 and nothing is written.
import type { Db } from "../../storage/db.js";
import { countLiveOAuthStates } from "../../storage/oauth-states.js";
import { tooManyRequests } from "../../http/errors.js";

/** A sliding window of install starts per client address, pruned as its entries expire. */
export class ClientStateLimiter {
  private readonly byClient = new Map<string, number[]>();

  constructor(
    readonly perClient: number,
    readonly windowMs: number,
  ) {}

  /** Reserves a slot for `client` (true) or refuses (false). Synchronous, so concurrent
   *  requests from one client cannot all pass before any is counted. */
  take(client: string, now = Date.now()): boolean {
    if (this.byClient.size > 1000) this.sweep(now);
    const live = (this.byClient.get(client) ?? []).filter((expiresAt) => expiresAt > now);
    if (live.length >= this.perClient) {
      this.byClient.set(client, live);
      return false;
    }
    live.push(now + this.windowMs);
    this.byClient.set(client, live);
    return true;
  }

  /** Gives back the newest slot of `client` (its start failed after take()). */
  release(client: string): void {
    const live = this.byClient.get(client);
    live?.pop();
    if (live && !live.length) this.byClient.delete(client);
  }

  /** Seconds until `client` may start again (0 when it may now). */
  retryAfterSeconds(client: string, now = Date.now()): number {
    const live = (this.byClient.get(client) ?? []).filter((expiresAt) => expiresAt > now);
    if (live.length < this.perClient) return 0;
    return Math.max(1, Math.ceil((live[0]! - now) / 1000));
  }

  private sweep(now: number): void {
    for (const [client, list] of this.byClient) {
      const live = list.filter((expiresAt) => expiresAt > now);
      if (live.length) this.byClient.set(client, live);
      else this.byClient.delete(client);
    }
  }
}

/** Throws 429 when the database already holds `max` live OAuth states. */
export async function assertStateCapacity(db: Db, max: number): Promise<void> {
  if ((await countLiveOAuthStates(db)) >= max) {
    throw tooManyRequests("too many installs are in progress; try again in a few minutes", "too_many_installs");
  }
}
