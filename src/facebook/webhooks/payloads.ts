// Messenger webhook bodies (Meta's "Webhook Events" shapes), validated with zod after a lossless
// JSON parse: ids stay strings, integers beyond 2^53 keep every digit. Each event becomes one
// RecordedEvent with its conversation (Page + PSID), kind, time and dedupe key:
//   message / echo   m:<page>:<mid>                (Meta's duplicates and retries repeat the mid)
//   delivery         d:<page>:<psid>:<watermark>
//   read             r:<page>:<psid>:<watermark>
//   postback         p:<page>:<mid>  (or, without a mid, p:<page>:<psid>:<timestamp>:<hash>)
//   referral         x:<page>:<psid>:<timestamp>:<hash>
import { createHash } from "node:crypto";
import { isSafeNumber, parse as parseLossless } from "lossless-json";
import { z } from "zod";
import type { FacebookEventKind } from "../../storage/schema.js";

/** Parses a body keeping 64-bit integers exact (as strings). */
export function parseMessengerJson(text: string): unknown {
  return parseLossless(text, null, (digits) => (isSafeNumber(digits) ? Number(digits) : digits));
}

const fbId = z.union([z.string().regex(/^[0-9]{1,24}$/), z.number().int().positive().max(Number.MAX_SAFE_INTEGER)]).transform(String);
const millis = z.union([z.number().int().min(0).max(1e15), z.string().regex(/^[0-9]{1,15}$/).transform(Number)]);
const text = z.string().max(100_000);
const mid = z.string().min(1).max(512);

const attachment = z.looseObject({
  type: z.string().max(64),
  payload: z.looseObject({ url: z.string().max(8192).optional() }).nullable().optional(),
});

const message = z.looseObject({
  mid,
  text: text.optional(),
  is_echo: z.boolean().optional(),
  app_id: fbId.optional(),
  metadata: text.optional(),
  quick_reply: z.looseObject({ payload: text }).optional(),
  reply_to: z.looseObject({ mid }).optional(),
  attachments: z.array(attachment).max(100).optional(),
});

const event = z.looseObject({
  sender: z.looseObject({ id: fbId }),
  recipient: z.looseObject({ id: fbId }),
  timestamp: millis.optional(),
  message: message.optional(),
  delivery: z.looseObject({ mids: z.array(mid).max(1000).optional(), watermark: millis }).optional(),
  read: z.looseObject({ watermark: millis }).optional(),
  postback: z.looseObject({ mid: mid.optional(), title: text.optional(), payload: text.optional() }).optional(),
  referral: z.looseObject({ ref: text.optional(), source: z.string().max(100).optional(), type: z.string().max(100).optional() }).optional(),
});

const entry = z.looseObject({
  id: fbId,
  time: millis,
  messaging: z.array(event).max(1000).optional(),
  standby: z.array(event).max(1000).optional(),
});

const body = z.looseObject({ object: z.literal("page"), entry: z.array(entry).min(1).max(1000) });

export type MessengerEvent = z.infer<typeof event>;

/** One event to record. */
export interface RecordedEvent {
  key: string;
  pageId: string;
  psid: string;
  kind: FacebookEventKind;
  source: "messaging" | "standby";
  /** Event time, ms: the timestamp, else the watermark, else the entry's time. */
  time: number;
  /** The validated event, as JSON (ids as strings). */
  payload: string;
}

/** Why a body was refused (400). */
export class MessengerPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MessengerPayloadError";
  }
}

const hash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 24);

/**
 * Validates a parsed body and turns every event of every entry (messaging and standby) into a
 * RecordedEvent. Events of other kinds (reactions, opt-ins...) are counted in `ignored`.
 * Throws MessengerPayloadError for anything malformed (the whole body is refused).
 */
export function messengerEvents(parsed: unknown): { events: RecordedEvent[]; ignored: number } {
  const r = body.safeParse(parsed);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new MessengerPayloadError(`${issue.path.join(".") || "body"}: ${issue.message.replace(/^Invalid input: /, "")}`.slice(0, 300));
  }
  const events: RecordedEvent[] = [];
  let ignored = 0;
  for (const [ei, en] of r.data.entry.entries()) {
    const pageId = en.id;
    for (const source of ["messaging", "standby"] as const) {
      for (const [i, ev] of (en[source] ?? []).entries()) {
        const where = `entry.${ei}.${source}.${i}`;
        const echo = ev.message?.is_echo === true;
        const pageSide = echo ? ev.sender.id : ev.recipient.id;
        if (pageSide !== pageId) throw new MessengerPayloadError(`${where}: ${echo ? "sender" : "recipient"} is not the entry's Page`);
        const psid = echo ? ev.recipient.id : ev.sender.id;
        let kind: FacebookEventKind;
        let key: string;
        let time: number | undefined = ev.timestamp;
        if (ev.message) {
          kind = echo ? "echo" : "message";
          key = `m:${pageId}:${ev.message.mid}`;
        } else if (ev.delivery) {
          kind = "delivery";
          key = `d:${pageId}:${psid}:${ev.delivery.watermark}`;
          time ??= ev.delivery.watermark;
        } else if (ev.read) {
          kind = "read";
          key = `r:${pageId}:${psid}:${ev.read.watermark}`;
          time ??= ev.read.watermark;
        } else if (ev.postback) {
          kind = "postback";
          if (ev.timestamp === undefined) throw new MessengerPayloadError(`${where}: postback without timestamp`);
          key = ev.postback.mid ? `p:${pageId}:${ev.postback.mid}` : `p:${pageId}:${psid}:${ev.timestamp}:${hash(JSON.stringify(ev.postback))}`;
        } else if (ev.referral) {
          kind = "referral";
          if (ev.timestamp === undefined) throw new MessengerPayloadError(`${where}: referral without timestamp`);
          key = `x:${pageId}:${psid}:${ev.timestamp}:${hash(JSON.stringify(ev.referral))}`;
        } else {
          ignored++;
          continue;
        }
        if ((kind === "message" || kind === "echo") && ev.timestamp === undefined) throw new MessengerPayloadError(`${where}: message without timestamp`);
        events.push({ key, pageId, psid, kind, source, time: time ?? en.time, payload: JSON.stringify(ev) });
      }
    }
  }
  return { events, ignored };
}
