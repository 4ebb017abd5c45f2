import { isAbsolute, relative } from 'node:path';
import { formatLocation, type MeshwardenError } from '../runtime/index.js';

type PartitionHead = { readonly partition: number; readonly head: string };

/** Where the CLI writes: stdout carries results (one JSON document with --json), stderr the rest. */
export type Output = {
  readonly json: boolean;
  /** Result text for people (suppressed with --json). */
  line(text?: string): void;
  /** The one JSON document of a --json run. */
  document(value: unknown): void;
  /** Progress and notes for people, always on stderr. */
  note(text: string): void;
  /** Reports an error on stderr (a note inside a longer report). */
  error(err: MeshwardenError): void;
  /** Reports the error that ends the command: on stderr, and with --json as the one document. */
  fail(err: MeshwardenError): void;
};

export function createOutput(json: boolean): Output {
  const error = (err: MeshwardenError) => {
    const where = formatLocation(err.location);
    process.stderr.write(
      `${terminalSafe(`error ${err.code}${where === '' ? '' : ` at ${where}`}: ${err.message}`)}\n`,
    );
  };
  return {
    json,
    line(text = '') {
      if (!json) process.stdout.write(`${terminalSafe(text)}\n`);
    },
    document(value) {
      process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    note(text) {
      process.stderr.write(`${terminalSafe(text)}\n`);
    },
    error,
    fail(err) {
      error(err);
      if (json) {
        const location = formatLocation(err.location);
        const error = { code: err.code, message: err.message, ...(location === '' ? {} : { location }) };
        process.stdout.write(`${JSON.stringify({ ok: false, error }, null, 2)}\n`);
      }
    },
  };
}

/**
 * Text for a terminal with its control characters shown, not obeyed: subjects, reasons and agent
 * names come from outside, and an escape sequence in one must not re-title, recolour or rewrite a
 * pilot's terminal. Tabs stay, and line breaks too unless `inline` (a table cell or a quoted reason,
 * where a line break from outside could forge a line of the report); other C0 and C1 controls and
 * DEL become `\x1b`, and the marks that reorder or break text unseen (bidi overrides and isolates,
 * line and paragraph separators) `\u202e`. Output.line and note apply it to everything; commands
 * apply it with `inline` to what they quote from the ledger. Shown text is left as it is, so it may
 * be applied twice.
 */
export function terminalSafe(text: string, opts: { inline?: boolean } = {}): string {
  return text.replace(opts.inline === true ? INLINE_CONTROLS : CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the same, with line feeds
const INLINE_CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Text from outside quoted inside one line of a report: terminalSafe with line breaks shown too. */
export function inlineText(text: string): string {
  return terminalSafe(text, { inline: true });
}

/**
 * Left-aligned columns, for tables people read in a terminal. Cells are shown terminal-safe on one
 * line before they are measured, so that a shown `\x1b` keeps the columns straight.
 */
export function table(cells: readonly (readonly string[])[]): string {
  const rows = cells.map((row) => row.map(inlineText));
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n');
}

/** A path as people would type it from here: relative inside the working directory, absolute outside. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

/**
 * The ledger's heads as a line says them: `head sha256:…` for a single chain, else each partition's,
 * numbered (`heads 0 sha256:… · 1 sha256:…`), so that no one takes partition 0's head for the ledger's.
 */
export function headsText(heads: readonly PartitionHead[]): string {
  if (heads.length === 0) return 'head (empty)';
  if (heads.length === 1 && heads[0]!.partition === 0) return `head ${heads[0]!.head}`;
  return `heads ${heads.map((h) => `${h.partition} ${h.head}`).join(' · ')}`;
}
