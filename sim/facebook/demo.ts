// The Facebook half of the demo `npm start` runs without credentials (used by sim/demo.ts): the
// Graph simulator starts in-process with one demo merchant and one Page, storelink's FACEBOOK_*
// configuration points at it (app id, secret and verify token generated for the run, never
// printed), the merchant logs in through storelink's real routes in the same browser as the Shopify
// install (one merchant user), the Page is connected and subscribed, and a simulated shopper writes
// to it; each message reaches storelink as a signed webhook and ends in the conversation export.
import { randomBytes, randomInt } from "node:crypto";
import { join } from "node:path";
import type { Config } from "../../src/config.js";
import type { ConversationExport } from "../../src/facebook/conversations.js";
import { facebookExportKeys, type PageMetadataExport } from "../../src/facebook/export.js";
import { demoWait, readJson, type Browser, type DemoServer } from "../demo-support.js";
import { createFacebookSimulator, type FacebookSimulator } from "./index.js";

/** The demo shopper's first messages. */
export const DEMO_SHOPPER_MESSAGES = ["Hi! Do you ship to Lisbon?", "Is the blue one still in stock in medium?", "Great, thanks!"];
const DEMO_SHOPPER_NAME = "Sam Shopper";

export interface FacebookDemo {
  /** storelink's facebook configuration, pointed at the simulator. */
  config: Config["facebook"];
  sim: FacebookSimulator;
  /** Logs the merchant in (through `browser`), waits for the Page setup, plays the shopper's first messages. */
  run(server: DemoServer, browser: Browser, print: (line: string) => void): Promise<FacebookDemoSession>;
  close(): Promise<void>;
}

/** A connected demo Page, for the demo and for later steps that add more to it (a bot's answer). */
export interface FacebookDemoSession {
  userId: string;
  pageId: string;
  pageName: string;
  /** The demo shopper's PSID (known after the first shopperSays). */
  psid: string | null;
  pageMetadataFile: string;
  conversationFile(psid: string): string;
  /** The shopper sends `text` to the Page (a signed webhook); resolves once the message is in the conversation export. */
  shopperSays(text: string, opts?: { timeoutMs?: number }): Promise<{ psid: string; mid: string; file: string; export: ConversationExport }>;
  /** Waits until the demo shopper's conversation export satisfies `pred`. */
  waitForConversation(pred: (doc: ConversationExport) => boolean, what: string, timeoutMs?: number): Promise<ConversationExport>;
}

const digits = (n: number) => String(randomInt(1, 10)) + Array.from({ length: n - 1 }, () => randomInt(0, 10)).join("");

/** Starts the Graph simulator and returns storelink's facebook configuration pointed at it. */
export async function prepareFacebookDemo(config: Config): Promise<FacebookDemo> {
  const appId = digits(16);
  const appSecret = randomBytes(24).toString("hex"); // fresh per run; never printed
  const verifyToken = randomBytes(16).toString("hex");
  const sim = await createFacebookSimulator({
    apps: [{ appId, appSecret, requireAppSecretProof: true, redirectUris: [config.facebook.redirectUri] }],
    merchants: [{ seed: 2026, pages: 1, conversationsPerPage: 2 }],
    autoApprove: true,
    logLevel: false,
  });
  const fbConfig: Config["facebook"] = {
    ...config.facebook,
    appId,
    appSecret,
    verifyToken,
    graphOrigin: sim.graphOrigin,
    dialogOrigin: sim.wwwOrigin,
    graphVersion: sim.graphVersion,
  };
  return {
    config: fbConfig,
    sim,
    run: (server, browser, print) => runFacebookDemo(server, browser, sim, fbConfig, print),
    close: () => sim.close(),
  };
}

async function runFacebookDemo(server: DemoServer, browser: Browser, sim: FacebookSimulator, fb: Config["facebook"], print: (l: string) => void): Promise<FacebookDemoSession> {
  const { db, config } = server.ctx;
  const [pageId] = sim.control.pages();
  const pageName = sim.control.truth(pageId).pages[0]?.details.name ?? pageId!;
  print("");
  print(`demo: Facebook Graph API simulator at ${sim.url} with the Page "${pageName}" (${pageId})`);
  // The App Dashboard step: Meta verifies the callback (GET with the verify token) and saves it.
  await sim.control.setWebhook(fb.appId!, { callbackUrl: `${server.url}/facebook/webhook`, verifyToken: fb.verifyToken! });
  print(`demo: Messenger webhook verified at ${server.url}/facebook/webhook`);

  print(`demo: logging in to Facebook through ${server.url}/facebook/login ...`);
  const res = await browser.get(`${server.url}/facebook/login`);
  if (res.status !== 200) throw new Error(`demo: Facebook login failed with HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  const login = JSON.parse(res.body) as { user: string; pages: { id: string }[] };
  if (!login.pages.some((p) => p.id === pageId)) throw new Error(`demo: the login did not connect the Page ${pageId}`);
  print(`demo: logged in; Page ${pageId} connected to merchant user ${login.user}`);

  const keys = facebookExportKeys(login.user, pageId!);
  const pageMetadataFile = join(config.dataDir, keys.metadata);
  const conversationFile = (psid: string) => join(config.dataDir, keys.conversation(psid));
  const meta = await demoWait("the Page's subscription and details", async () => {
    const doc = await readJson<PageMetadataExport>(pageMetadataFile);
    return doc && doc.detailsFetchedAt !== null && doc.subscribedFields.includes("messages") ? doc : null;
  }, 60_000);
  print(`demo: Page subscribed to the app (${meta.subscribedFields.join(", ")}); details exported`);

  const session: FacebookDemoSession = {
    userId: login.user,
    pageId: pageId!,
    pageName,
    psid: null,
    pageMetadataFile,
    conversationFile,
    async waitForConversation(pred, what, timeoutMs = 30_000) {
      const psid = session.psid;
      if (!psid) throw new Error("demo: the shopper has not written yet");
      return demoWait(what, async () => {
        const doc = await readJson<ConversationExport>(conversationFile(psid));
        return doc && pred(doc) ? doc : null;
      }, timeoutMs);
    },
    async shopperSays(text, opts = {}) {
      const sent = sim.control.shopperSends(pageId!, { psid: session.psid ?? undefined, name: DEMO_SHOPPER_NAME, text });
      session.psid = sent.psid;
      const doc = await session.waitForConversation((d) => d.messages.some((m) => m.mid === sent.mid), `the shopper's message ${sent.mid} in the export`, opts.timeoutMs);
      return { psid: sent.psid, mid: sent.mid, file: conversationFile(sent.psid), export: doc };
    },
  };

  const t0 = Date.now();
  for (const text of DEMO_SHOPPER_MESSAGES) await session.shopperSays(text);
  print(`demo: shopper ${DEMO_SHOPPER_NAME} (${session.psid}) sent ${DEMO_SHOPPER_MESSAGES.length} messages; all in the conversation export after ${Date.now() - t0} ms`);
  return session;
}
