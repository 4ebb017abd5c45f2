import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';

// ajv-formats is CommonJS with `module.exports = plugin`; under NodeNext its default import is typed
// as the module object, so it is narrowed to the callable it really is.
const addFormats = addFormatsPlugin as unknown as typeof addFormatsPlugin.default;

/** The dialect of contract files, and of tool schemas without `$schema` (as MCP says). */
export const DIALECT_2020 = 'https://json-schema.org/draft/2020-12/schema';
/** The dialect MCP servers built with the v1 SDK write their tools' input schemas in. */
export const DIALECT_DRAFT_07 = 'http://json-schema.org/draft-07/schema';

export type SchemaCompiler = Ajv | Ajv2020;

// One Ajv per dialect for the process: a new instance costs ~35 ms, a compile on a warm one ~2 ms.
// strictSchema rejects unknown keywords ("requried"), the usual typo; logger off: no logging here.
// addUsedSchema off plus removeSchema after compiling keep contracts independent (two may share
// an `$id`) and keep the instance from growing across policy reloads.
const OPTIONS = {
  allErrors: true,
  strictSchema: true,
  strictTypes: false,
  addUsedSchema: false,
  logger: false,
} as const;

let ajv2020: Ajv2020 | undefined;
let ajvDraft07: Ajv | undefined;

/**
 * The compiler for a schema's `$schema`: 2020-12 when it names it or names none; draft-07 only
 * when `draft07` allows it. Undefined for any other dialect.
 */
export function compilerFor(dialect: unknown, draft07: boolean): SchemaCompiler | undefined {
  if (dialect === undefined || dialect === DIALECT_2020 || dialect === `${DIALECT_2020}#`) {
    if (ajv2020 === undefined) {
      ajv2020 = new Ajv2020(OPTIONS);
      addFormats(ajv2020);
    }
    return ajv2020;
  }
  if (draft07 && (dialect === DIALECT_DRAFT_07 || dialect === `${DIALECT_DRAFT_07}#`)) {
    if (ajvDraft07 === undefined) {
      ajvDraft07 = new Ajv(OPTIONS);
      addFormats(ajvDraft07);
    }
    return ajvDraft07;
  }
  return undefined;
}
