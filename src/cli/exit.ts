import { cliError } from './errors.js';
import type { Output } from './output.js';

/** How long a finished command's process may stay for what it left running (docs/cli.md). */
const LINGER_MS = 1_000;

/**
 * Ends a finished command's process, `process.exitCode` already set. Output to a pipe is written
 * asynchronously: a reader that pauses (`| less`) gets all of it first, for as long as it takes.
 * Then what the command left running does not hold the exit more than a second: that is an export
 * under way toward a collector that answers slowly or not at all, which telemetry's close gave up
 * on (and said so) at its bound, and which would otherwise keep the process for its own OTLP
 * timeout, retries included.
 */
export async function exitOnceWritten(): Promise<void> {
  await Promise.all([process.stdout, process.stderr].map(written));
  setTimeout(() => process.exit(), LINGER_MS).unref();
}

/** Resolves once everything queued on the stream is written (or the stream is gone). */
function written(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0 || stream.destroyed || !stream.writable) resolve();
    else stream.write('', () => resolve());
  });
}

/**
 * Until `done()`: Ctrl-C or SIGTERM while a command opens its mesh (the ledger opened, perhaps
 * moved to a newer schema version, then read whole to recover: seconds on a large ledger) fails
 * with MW_CLI_INTERRUPTED and exits 130 or 143, as soon as the step under way lets the event loop
 * turn (a schema move finishes first). Nothing was served or fed yet; work a previous run left
 * unfinished, which the open may have begun to resume, is resumed again at the next start (it is
 * at-least-once, by id); and each of the ledger's writes is a transaction. Without this the process
 * died at once, saying nothing.
 * `done()` belongs right after the open, in a `finally`: from then on the command's own handler
 * stops it the slow way, letting resumed work finish.
 */
export function exitOnInterruptWhileOpening(out: Pick<Output, 'fail'>): { done(): void } {
  const onSignal = (signal: NodeJS.Signals) => {
    out.fail(cliError('MW_CLI_INTERRUPTED', { signal }, { details: { signal } }));
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    done() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
