// `storelink rotate-key`: re-encrypt every stored secret with the current ENCRYPTION_KEY.
// Rotation: set ENCRYPTION_KEY to the new key and ENCRYPTION_KEYS_PREVIOUS to the old one(s), run
// this, then drop the old key from ENCRYPTION_KEYS_PREVIOUS.
import type { Command } from "commander";
import { openCliContext } from "./context.js";
import { reencryptAll } from "../storage/rotate.js";

export function registerRotateKey(program: Command): void {
  program
    .command("rotate-key")
    .description("re-encrypt all stored tokens with the current ENCRYPTION_KEY (one transaction)")
    .action(async () => {
      const ctx = await openCliContext();
      try {
        const counts = await reencryptAll(ctx.db, ctx.secrets);
        for (const c of counts) console.log(`${c.column}: re-encrypted ${c.reencrypted}, already current ${c.alreadyCurrent}`);
        const total = counts.reduce((n, c) => n + c.reencrypted, 0);
        console.log(`done: ${total} value(s) now under key ${ctx.secrets.currentKeyId}`);
      } finally {
        await ctx.close();
      }
    });
}
