// Validators for the Facebook export JSON Schemas in docs/schema (ajv, draft 2020-12).
import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { ConversationExport } from "../../src/facebook/conversations.js";
import type { PageMetadataExport } from "../../src/facebook/export.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const load = (name: string) => JSON.parse(readFileSync(new URL(`../../docs/schema/${name}`, import.meta.url), "utf8")) as object;

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
export const validatePageMetadata = ajv.compile<PageMetadataExport>(load("facebook_page_metadata.schema.json"));
export const validateConversation = ajv.compile<ConversationExport>(load("facebook_conversation.schema.json"));
export const schemaErrors = (v: { errors?: unknown }) => JSON.stringify(v.errors ?? null).slice(0, 2000);
