// Meta's error shape, {error:{message,type,code,error_subcode,fbtrace_id}} (doc: Graph API "Handling
// Errors"), and the errors the simulator answers. Messages follow what Meta sends where it is
// documented or widely seen; each is marked in sim/facebook/README.md with how sure it is.
import { randomBytes } from "node:crypto";

export interface GraphErrorBody {
  error: {
    message: string;
    type: string;
    code: number;
    error_subcode?: number;
    error_user_title?: string;
    error_user_msg?: string;
    is_transient?: boolean;
    fbtrace_id: string;
  };
}

/** A Graph API error: HTTP status + Meta's JSON body. */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly type = "OAuthException",
    readonly subcode?: number,
    readonly extra: { error_user_title?: string; error_user_msg?: string; is_transient?: boolean } = {},
  ) {
    super(message);
    this.name = "GraphError";
  }

  body(): GraphErrorBody {
    return {
      error: {
        message: this.message,
        type: this.type,
        code: this.code,
        ...(this.subcode !== undefined ? { error_subcode: this.subcode } : {}),
        ...this.extra,
        fbtrace_id: fbtraceId(),
      },
    };
  }
}

/** An opaque support id like Meta's ("AX7LwGmBMuz"). */
export function fbtraceId(): string {
  return randomBytes(8).toString("base64url").slice(0, 11);
}

const DOCS = "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api";

function fbDate(ms: number): string {
  // "Tuesday, 01-Dec-26 21:00:00 UTC" (Meta prints Pacific time; the sim prints UTC).
  const d = new Date(ms);
  const day = d.toLocaleDateString("en-US", { weekday: "long", timeZone: "UTC" });
  const p = (n: number) => String(n).padStart(2, "0");
  const mon = d.toLocaleDateString("en-US", { month: "short", timeZone: "UTC" });
  return `${day}, ${p(d.getUTCDate())}-${mon}-${p(d.getUTCFullYear() % 100)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} UTC`;
}

/** Error catalog. Status 400 unless Meta answers otherwise (transient errors: 500). */
export const errors = {
  unknownPath: (rest: string) => new GraphError(400, 2500, `Unknown path components: /${rest}`),
  retiredVersion: (v: string, latest: string) =>
    new GraphError(400, 2635, `(#2635) You are calling a deprecated version of the Graph API (${v}). Please update to the latest version: ${latest}.`),
  unsupported: (method: string, id: string) =>
    new GraphError(400, 100, `Unsupported ${method.toLowerCase()} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. ${DOCS}`, "GraphMethodException", 33),
  noSuchField: (field: string, nodeType: string) =>
    new GraphError(400, 100, `(#100) Tried accessing nonexisting field (${field}) on node type (${nodeType})`),
  badFields: (detail: string) => new GraphError(400, 2500, `Syntax error "${detail}" in the fields parameter`),
  param: (message: string, subcode?: number) => new GraphError(400, 100, `(#100) ${message}`, "OAuthException", subcode),
  invalidCursor: () => new GraphError(400, 100, "(#100) The after/before cursor is invalid or has expired"),

  // Tokens (code 190 and its subcodes; doc: "Handling Errors" and "Access Tokens").
  tokenRequired: () => new GraphError(400, 104, "An access token is required to request this resource."),
  meNeedsToken: () => new GraphError(400, 2500, "An active access token must be used to query information about the current user."),
  badToken: () => new GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token"),
  expired: (expiredAt: number, now: number) =>
    new GraphError(400, 190, `Error validating access token: Session has expired on ${fbDate(expiredAt)}. The current time is ${fbDate(now)}.`, "OAuthException", 463),
  invalidated: (subcode: number, userId: string, appId: string) => {
    const msg =
      subcode === 458 ? `Error validating access token: User ${userId} has not authorized application ${appId}.`
      : subcode === 467 ? "Error validating access token: The session is invalid because the user logged out."
      : "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.";
    return new GraphError(400, 190, msg, "OAuthException", subcode);
  },
  proofMissing: () => new GraphError(400, 100, "API calls from the server require an appsecret_proof argument", "GraphMethodException"),
  proofInvalid: () => new GraphError(400, 100, "Invalid appsecret_proof provided in the API argument", "GraphMethodException"),

  // Login (code exchange): doc "Manually Build a Login Flow"; messages and subcodes seen.
  missingClientId: () => new GraphError(400, 101, "Missing client_id parameter."),
  badClientId: () => new GraphError(400, 101, "Error validating application. Invalid application ID."),
  badSecret: () => new GraphError(400, 1, "Error validating client secret."),
  missingRedirect: () => new GraphError(400, 100, "Missing redirect_uri parameter."),
  codeUsed: () => new GraphError(400, 100, "This authorization code has been used.", "OAuthException", 36009),
  codeExpired: () => new GraphError(400, 100, "This authorization code has expired.", "OAuthException", 36007),
  codeRedirectMismatch: () =>
    new GraphError(400, 100, "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request", "OAuthException", 36008),
  codeInvalid: () => new GraphError(400, 100, "Invalid verification code format.", "OAuthException", 36009),

  // Permissions.
  permission: (perm: string) =>
    perm === "pages_messaging"
      ? new GraphError(400, 10, `(#10) Requires ${perm} permission to manage the object`)
      : new GraphError(400, 200, `(#200) Requires ${perm} permission to manage the object`),
  pageTokenRequired: () => new GraphError(400, 210, "(#210) A page access token is required to request this resource."),

  // Send API (doc: Send API reference; Messenger "Common Error Codes"; subcodes seen).
  outsideWindow: () =>
    new GraphError(400, 10, "(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview", "OAuthException", 2018278),
  noMatchingUser: () => new GraphError(400, 100, "(#100) No matching user found", "OAuthException", 2018001),

  // Rate limits (doc: Graph API "Rate Limits").
  rate: (code: 4 | 17 | 32 | 613) =>
    new GraphError(400, code,
      code === 4 ? "(#4) Application request limit reached"
      : code === 17 ? "(#17) User request limit reached"
      : code === 32 ? "(#32) Page request limit reached"
      : "(#613) Calls to this api have exceeded the rate limit.",
      "OAuthException", undefined, { is_transient: true }),

  // Transient (chaos): code 1 and 2.
  unknown: () => new GraphError(500, 1, "An unknown error occurred", "OAuthException", undefined, { is_transient: true }),
  service: () => new GraphError(500, 2, "An unexpected error has occurred. Please retry your request later.", "OAuthException", undefined, { is_transient: true }),
};
