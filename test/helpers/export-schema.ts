// Validators for the export JSON Schemas in docs/schema (ajv, draft 2020-12, with formats).
import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { ShopMetadataExport, ShopProductsExport } from "../../src/shopify/catalog/export-types.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

function load(name: string): object {
  return JSON.parse(readFileSync(new URL(`../../docs/schema/${name}`, import.meta.url), "utf8")) as object;
}

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
export const validateShopMetadata = ajv.compile<ShopMetadataExport>(load("shop_metadata.schema.json"));
export const validateShopProducts = ajv.compile<ShopProductsExport>(load("shop_products.schema.json"));

export function schemaErrors(v: { errors?: unknown }): string {
  return JSON.stringify(v.errors ?? null).slice(0, 2000);
}
