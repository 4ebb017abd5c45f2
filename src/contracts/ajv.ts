import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { contractPattern } from './linear-pattern.js';

// ajv-formats is CommonJS with `module.exports = plugin`; under NodeNext its default import is typed
// as the module object, so it is narrowed to the callable it really is.
const addFormats = addFormatsPlugin as unknown as typeof addFormatsPlugin.default;

/** The dialect of contract files, and of tool schemas without `$schema` (as MCP says). */
export const DIALECT_2020 = 'https://json-schema.org/draft/2020-12/schema';
/** The dialect MCP servers built with the v1 SDK write their tools' input schemas in. */
export const DIALECT_DRAFT_07 = 'http://json-schema.org/draft-07/schema';

export type SchemaCompiler = Ajv | Ajv2020;

/** Ajv's regular expression engine: `code` names it in standalone code, which is never written here. */
const PATTERN_ENGINE = Object.assign((pattern: string, flags: string) => contractPattern(pattern, flags), {
  code: 'contractPattern',
});

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
  // `pattern` and `patternProperties` on V8's linear-time engine where it answers the same
  // (linear-pattern.ts): a partner's message cannot make a contract's pattern backtrack for seconds.
  code: { regExp: PATTERN_ENGINE },
} as const;

// A tool's schema is a third party's: vendor keywords (`x-order`, say) are ignored rather than
// refused, since the policy's author cannot fix them; only contract files get the typo check.
const TOOL_OPTIONS = { ...OPTIONS, strictSchema: false } as const;

let ajv2020: Ajv2020 | undefined;
let ajv2020Tools: Ajv2020 | undefined;
let ajvDraft07Tools: Ajv | undefined;

/**
 * The compiler for a schema's `$schema`: 2020-12 when it names it or names none; for a tool's
 * schema (`tool`), draft-07 too, and unknown keywords ignored. Undefined for any other dialect.
 */
export function compilerFor(dialect: unknown, tool: boolean): SchemaCompiler | undefined {
  if (dialect === undefined || dialect === DIALECT_2020 || dialect === `${DIALECT_2020}#`) {
    if (tool) {
      ajv2020Tools ??= withFormats(new Ajv2020(TOOL_OPTIONS));
      return ajv2020Tools;
    }
    ajv2020 ??= withFormats(new Ajv2020(OPTIONS));
    return ajv2020;
  }
  if (tool && (dialect === DIALECT_DRAFT_07 || dialect === `${DIALECT_DRAFT_07}#`)) {
    ajvDraft07Tools ??= withFormats(new Ajv(TOOL_OPTIONS));
    return ajvDraft07Tools;
  }
  return undefined;
}

function withFormats<T extends SchemaCompiler>(ajv: T): T {
  addFormats(ajv);
  return ajv;
}
