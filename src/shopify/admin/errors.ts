// Typed failures of the Admin GraphQL client. Messages name the shop and the operation, never a
// token (the client scrubs the token out of anything the server sent back, to be sure).

/** Base class of every Admin GraphQL client failure; names the shop and the operation. */
export class AdminApiError extends Error {
  constructor(
    message: string,
    readonly shop: string,
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AdminApiError";
  }
}

/** 401/403: the shop's token is invalid or revoked; the shop needs re-authorisation. */
export class ShopUnauthorizedError extends AdminApiError {
  constructor(shop: string, operation: string, readonly status: number) {
    super(`Shopify refused the access token for ${shop} (HTTP ${status}) on ${operation}; the shop needs re-authorisation`, shop, operation);
    this.name = "ShopUnauthorizedError";
  }
}

export interface GraphqlErrorEntry {
  message: string;
  code?: string;
  path?: (string | number)[];
}

/** GraphQL errors that retrying cannot fix (validation, access, MAX_COST_EXCEEDED, ...). */
export class AdminGraphqlError extends AdminApiError {
  constructor(
    shop: string,
    operation: string,
    readonly errors: GraphqlErrorEntry[],
    /** Partial data Shopify returned beside the errors, if any. */
    readonly data?: unknown,
  ) {
    const codes = [...new Set(errors.map((e) => e.code).filter(Boolean))];
    super(
      `Shopify GraphQL errors for ${shop} on ${operation}${codes.length ? ` [${codes.join(", ")}]` : ""}: ${errors.map((e) => e.message).join("; ")}`,
      shop,
      operation,
    );
    this.name = "AdminGraphqlError";
  }

  get codes(): string[] {
    return this.errors.flatMap((e) => (e.code ? [e.code] : []));
  }
}

/** The document asks for more than the 1,000-point single-query limit (refused, or caught before sending). */
export class MaxCostExceededError extends AdminGraphqlError {
  constructor(shop: string, operation: string, readonly requestedCost: number, errors?: GraphqlErrorEntry[]) {
    super(shop, operation, errors ?? [{ message: `requested cost ${requestedCost} exceeds the single query limit of 1000`, code: "MAX_COST_EXCEEDED" }]);
    this.name = "MaxCostExceededError";
  }
}

/** An HTTP answer that is neither success nor worth retrying (400, 402, 404, 423, ...). */
export class AdminHttpError extends AdminApiError {
  constructor(shop: string, operation: string, readonly status: number, detail: string) {
    super(`Shopify answered HTTP ${status} for ${shop} on ${operation}${detail ? `: ${detail}` : ""}`, shop, operation);
    this.name = "AdminHttpError";
  }
}

/**
 * Shopify answered with a redirect (3xx). The client never follows one: the request carries the
 * shop's access token, which must not reach another host. Not retried (a redirect is configuration,
 * not a transient failure).
 */
export class AdminRedirectError extends AdminApiError {
  constructor(shop: string, operation: string, readonly status: number, readonly location: string | null) {
    super(
      `Shopify answered HTTP ${status} (redirect${location ? ` to ${location}` : ""}) for ${shop} on ${operation}; redirects are refused so the access token is never sent elsewhere (check SHOPIFY_SHOP_ORIGIN and the API version)`,
      shop,
      operation,
    );
    this.name = "AdminRedirectError";
  }
}

/** Every attempt failed with a retryable condition (throttling, 429, 5xx, network). */
export class AdminRetriesExhaustedError extends AdminApiError {
  constructor(shop: string, operation: string, readonly attempts: number, readonly lastReason: string, cause?: unknown) {
    super(`Shopify Admin API ${operation} for ${shop} failed after ${attempts} attempts; last: ${lastReason}`, shop, operation, { cause });
    this.name = "AdminRetriesExhaustedError";
  }
}
