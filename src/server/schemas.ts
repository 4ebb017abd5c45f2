// JSON Schemas shared by routes. Fastify validates requests with them and @fastify/swagger turns them
// into the OpenAPI document, so each shape is written once.

/** The one error shape, registered once (`ApiError` in the OpenAPI components) and referenced. */
export const API_ERROR_SCHEMA = {
  $id: 'ApiError',
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        pointer: { type: 'string' },
        issues: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              code: { type: 'string' },
              location: { type: 'string' },
              message: { type: 'string' },
            },
          },
        },
        answered: {
          type: 'object',
          description:
            'MW_PILOT_NOT_HELD of an approve or reject: who answered the hold first (pilot:<name> or timeout), how, and when',
          properties: {
            by: { type: 'string' },
            outcome: { type: 'string', enum: ['deliver', 'deny'] },
            at: { type: 'string' },
            refused: {
              type: 'string',
              description:
                'approved (or let through by its timeout), then refused when gated again: the reason',
            },
          },
        },
        limited: {
          type: 'string',
          enum: ['token', 'address'],
          description: 'MW_API_RATE_LIMITED: whose calls ran out, a token’s or an address’s without one',
        },
      },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

export const errorReply = { $ref: 'ApiError#' } as const;

/** A free-form JSON object: the reply schema keeps every member (no serializer stripping). */
export const anyObject = { type: 'object', additionalProperties: true } as const;

export const reasonBody = {
  type: 'object',
  properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } },
  required: ['reason'],
  additionalProperties: false,
} as const;

export const verdictCounts = {
  type: 'object',
  properties: {
    deliver: { type: 'integer' },
    deny: { type: 'integer' },
    hold: { type: 'integer' },
    quarantine: { type: 'integer' },
  },
} as const;

/** The error replies most routes can give, for the OpenAPI document. */
export function errors(...codes: readonly number[]): Record<number, typeof errorReply> {
  return Object.fromEntries([401, 403, 429, ...codes].map((code) => [code, errorReply]));
}

/** In a cluster: partitions no live node owns just now (a take-over under way), left out of a list. */
export const unownedSchema = {
  type: 'array',
  items: { type: 'integer' },
  description:
    'In a cluster: partitions no live node owns just now (a take-over under way), whose entries the list could not hold',
} as const;
