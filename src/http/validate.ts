// Request validation with zod: parse or throw a 400 HttpError naming the first bad field.
import type { z } from "zod";
import { badRequest } from "./errors.js";

/**
 * `input` (undefined or null read as {}) parsed by `schema`, or a 400 HttpError "invalid <what>:
 * <field> <reason>" for the first issue; `what` names the input (default "query").
 */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, what = "query"): z.infer<T> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.length ? issue.path.join(".") : what;
  throw badRequest(`invalid ${what}: ${field} ${issue.message.replace(/^Invalid input: /, "")}`);
}
