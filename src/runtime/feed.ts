import { relative } from 'node:path';
import { decodeLine, inputLineLimit, isRejected, oversizedLine, parseInputLine } from './input.js';
import { readLines } from './lines.js';
import type { Mesh } from './mesh.js';

/**
 * Reads a JSON Lines file into the mesh, one root message a line; bad lines are recorded, never
 * fatal. Lines are read as bytes and in bounded memory: a line over the input line limit (four
 * times the policy's envelope size limit) is recorded as evidence, never held whole, and a line
 * that is not UTF-8 is quarantined rather than read with replacement characters.
 */
export async function feedFile(
  mesh: Mesh,
  file: string,
  onProgress: (lines: number) => void,
  signal: AbortSignal,
): Promise<number> {
  const shown = relative(process.cwd(), file) || file;
  // Read per line, so a policy reloaded while `up --input` feeds applies from the next line on.
  const limit = () => inputLineLimit(mesh.policy.guards.envelope.maxBytes);
  let count = 0;
  let last: Promise<unknown> = Promise.resolve();
  for await (const item of readLines(file, limit)) {
    if (signal.aborted) break;
    count = item.line;
    let parsed: ReturnType<typeof parseInputLine>;
    if ('oversized' in item) {
      parsed = oversizedLine(item.oversized, shown, item.line, limit());
    } else {
      const text = decodeLine(item.bytes, shown, item.line);
      parsed = typeof text === 'string' ? parseInputLine(text, shown, item.line) : text;
      // The evidence is of the line's bytes as they are in the file.
      if (parsed !== undefined && isRejected(parsed)) parsed = { ...parsed, raw: item.bytes };
    }
    if (parsed === undefined) continue;
    last = isRejected(parsed)
      ? mesh.reject(parsed)
      : mesh.inject(parsed.source, {
          type: parsed.type,
          subject: parsed.subject,
          data: parsed.data,
          ...(parsed.id === undefined ? {} : { id: parsed.id }),
          ...(parsed.causationid === undefined ? {} : { causationid: parsed.causationid }),
        });
    // Only every 512th is awaited; a failure of the others (a ledger that closed) must not go
    // unhandled and end the process: the shell learns of it from the ledger's `closed`.
    last.catch(() => {});
    // Backpressure: let the ledger catch up every few hundred lines instead of queueing the whole file.
    if (count % 512 === 0) {
      await last;
      onProgress(count);
    }
  }
  await last;
  return count;
}
