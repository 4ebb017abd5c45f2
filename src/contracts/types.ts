import type { JsonObject } from '../envelope/index.js';

/**
 * One validation problem, shaped after Ajv's ErrorObject: `path` is an array (a JSON pointer is
 * derived from it when shown), `keyword` and `params` are Ajv's; `message` is for people only.
 */
export type Issue = {
  readonly code: string;
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly keyword?: string;
  readonly params?: Readonly<Record<string, unknown>>;
  /** For a payload's issue: JSON pointer to the schema keyword that failed (Ajv's `schemaPath`). */
  readonly schemaPointer?: string;
};

/**
 * A message or effect type's contract: its JSON Schema (2020-12; an MCP tool's input schema may be
 * draft-07), compiled once at load.
 */
export type Contract = {
  readonly type: string;
  readonly schema: JsonObject;
  /** Empty when `data` satisfies the schema. Never throws. */
  validate(data: unknown): readonly Issue[];
};
