// Content negotiation for the routes a browser and an API client both reach (the OAuth callbacks):
// a browser asks for HTML and is sent on to the dashboard; anything else keeps the JSON answer.

/**
 * Whether the request's Accept header names text/html (what a browser sends when it navigates);
 * `*\/*` alone (fetch, curl) or application/json does not.
 */
export function acceptsHtml(accept: string | string[] | undefined): boolean {
  const value = Array.isArray(accept) ? accept.join(",") : (accept ?? "");
  return value.split(",").some((part) => {
    const [type, ...params] = part.trim().toLowerCase().split(";");
    if (type?.trim() !== "text/html" && type?.trim() !== "application/xhtml+xml") return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
