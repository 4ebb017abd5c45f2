import { createReadStream } from 'node:fs';
import { relative } from 'node:path';
import { createInterface } from 'node:readline';
import { isRejected, parseInputLine } from './input.js';
import type { Mesh } from './mesh.js';

/** Reads a JSON Lines file into the mesh, one root message a line; bad lines are recorded, never fatal. */
export async function feedFile(
  mesh: Mesh,
  file: string,
  onProgress: (lines: number) => void,
  signal: AbortSignal,
): Promise<number> {
  const shown = relative(process.cwd(), file) || file;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  let count = 0;
  let last: Promise<unknown> = Promise.resolve();
  for await (const text of lines) {
    if (signal.aborted) break;
    count++;
    const parsed = parseInputLine(text, shown, count);
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
    // Backpressure: let the ledger catch up every few hundred lines instead of queueing the whole file.
    if (count % 512 === 0) {
      await last;
      onProgress(count);
    }
  }
  await last;
  return count;
}
