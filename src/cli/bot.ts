// `storelink bot pause|resume <page>`: stops or restarts the sales bot on one Facebook Page (resume
// also lifts the handover pauses of its conversations), and `storelink bot instructions <page>`
// sets the merchant's instructions the bot follows.
import type { Command } from "commander";
import { openCliContext } from "./context.js";
import { getBotPage, setInstructions, setPagePaused } from "../bot/index.js";
import { getPage } from "../facebook/pages.js";

const PAGE_ID = /^[0-9]{1,24}$/;

async function withPage(pageArg: string, run: (ctx: Awaited<ReturnType<typeof openCliContext>>, pageId: string) => Promise<void>): Promise<void> {
  if (!PAGE_ID.test(pageArg)) {
    console.error(`not a Page id: ${JSON.stringify(pageArg)} (digits, as in \`storelink status\`)`);
    process.exitCode = 2;
    return;
  }
  const ctx = await openCliContext();
  try {
    if (!(await getPage(ctx.db, pageArg))) {
      console.error(`no Facebook Page ${pageArg} here (see \`storelink status\`)`);
      process.exitCode = 1;
      return;
    }
    await run(ctx, pageArg);
  } finally {
    await ctx.close();
  }
}

export function registerBot(program: Command): void {
  const bot = program.command("bot").description("the sales bot on a Facebook Page: pause, resume, instructions");
  bot
    .command("pause")
    .description("stop answering shoppers on this Page (messages are still stored)")
    .argument("<page>", "Facebook Page id")
    .action((page: string) =>
      withPage(page, async (ctx, id) => {
        await setPagePaused(ctx.db, id, true);
        console.log(`bot paused on Page ${id}`);
      }),
    );
  bot
    .command("resume")
    .description("answer shoppers on this Page again (also ends handover pauses in its conversations)")
    .argument("<page>", "Facebook Page id")
    .action((page: string) =>
      withPage(page, async (ctx, id) => {
        await setPagePaused(ctx.db, id, false);
        console.log(`bot resumed on Page ${id}`);
      }),
    );
  bot
    .command("instructions")
    .description("show, set (--set <text>) or clear (--clear) the merchant's instructions for the bot on this Page")
    .argument("<page>", "Facebook Page id")
    .option("--set <text>", "the instructions (plain text, at most 4000 characters)")
    .option("--clear", "remove the instructions")
    .action((page: string, flags: { set?: string; clear?: boolean }) =>
      withPage(page, async (ctx, id) => {
        if (flags.set !== undefined && flags.clear) {
          console.error("give --set or --clear, not both");
          process.exitCode = 2;
          return;
        }
        if (flags.set !== undefined) {
          const text = flags.set.trim();
          if (!text || text.length > 4000) {
            console.error("instructions must be 1 to 4000 characters");
            process.exitCode = 2;
            return;
          }
          await setInstructions(ctx.db, id, text);
          console.log(`instructions set for Page ${id}`);
        } else if (flags.clear) {
          await setInstructions(ctx.db, id, null);
          console.log(`instructions cleared for Page ${id}`);
        } else {
          const s = await getBotPage(ctx.db, id);
          console.log(`${s.paused ? "paused" : "active"}\n${s.instructions ?? "(no instructions)"}`);
        }
      }),
    );
}
