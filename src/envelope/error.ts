/** Where a problem is: a JSON pointer into a document, or a position in a file (1-based). */
export type Location = {
  readonly pointer?: string;
  readonly file?: string;
  readonly line?: number;
  readonly col?: number;
};

/** The one error class of the codebase. Layers make instances through their own `errors.ts` table. */
export class MeshwardenError extends Error {
  readonly code: string;
  readonly location: Location | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: string,
    message: string,
    opts: { location?: Location; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'MeshwardenError';
    this.code = code;
    this.location = opts.location;
    this.details = opts.details;
  }
}

/** Builds a layer's error factory from its table of codes and sentence templates (`{name}` placeholders). */
export function makeError<Code extends string>(table: Readonly<Record<Code, string>>) {
  return (
    code: Code,
    params: Readonly<Record<string, string | number>> = {},
    opts: { location?: Location; details?: Record<string, unknown>; cause?: unknown } = {},
  ): MeshwardenError => {
    return new MeshwardenError(code, fillTemplate(table[code], params), opts);
  };
}

/** Fills a template's `{name}` placeholders from params; an unknown name is left as written. */
export function fillTemplate(template: string, params: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => String(params[key] ?? `{${key}}`));
}

/** The message of a caught value: an Error's message, or the value as text. */
export function errorText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Another party's text as it may stand in an error, a verdict or a log line: on one line, without
 * control characters (a terminal's escape sequences), at most `max` characters, never cut inside a
 * surrogate pair. A hostile peer's text could otherwise be a megabyte, or rewrite a terminal.
 */
export function quotedText(text: string, max: number): string {
  const flat = text.replace(/[\s\p{Cc}]+/gu, ' ').trim();
  return (flat.length > max ? `${flat.slice(0, max)}…` : flat).toWellFormed();
}

export function isMeshwardenError(value: unknown): value is MeshwardenError {
  return value instanceof MeshwardenError;
}

/** Formats a location the way editors link it: `file:line:col` or the JSON pointer. */
export function formatLocation(location: Location | undefined): string {
  if (!location) return '';
  if (location.file !== undefined) {
    return `${location.file}${location.line !== undefined ? `:${location.line}:${location.col ?? 1}` : ''}`;
  }
  return location.pointer ?? '';
}
