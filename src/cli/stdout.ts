/**
 * A reader that stops reading (`meshwarden audit export | head -1`) closes the pipe, and the next
 * write fails with EPIPE. That is the reader's choice, not the command's failure: from then on the
 * output goes nowhere, quietly, a stream of output (audit export) stops, and the command exits with
 * its own status (docs/cli.md). Any other write error on stdout (a full disk behind `> file`) is
 * kept and reported once the command is done.
 */
type Stream = NodeJS.WritableStream & { readonly destroyed: boolean; readonly errored: Error | null };

let failure: Error | undefined;

const readerGone = (err: unknown) => (err as NodeJS.ErrnoException | null)?.code === 'EPIPE';

/** Installs the listeners that keep a closed stdout or stderr from crashing the process. Call once. */
export function watchOutputStreams(): void {
  process.stdout.on('error', (err: Error) => {
    if (!readerGone(err)) failure ??= err;
  });
  // Nothing is left to tell a closed stderr; its other errors have nowhere to go either.
  process.stderr.on('error', () => {});
}

/** A write error on stdout other than its reader going away, if there was one. */
export function stdoutFailure(): Error | undefined {
  return failure;
}

/**
 * After a `write` returned false: resolves true once `stream` drains, false once it can take no more
 * (its reader is gone, a write failed, it closed). Why is the caller's to read: `stream.errored`.
 */
export function drained(stream: Stream): Promise<boolean> {
  if (stream.destroyed || stream.errored !== null) return Promise.resolve(false);
  return new Promise((resolve) => {
    const settle = (ok: boolean) => () => {
      stream.off('drain', onDrain);
      stream.off('close', onEnd);
      stream.off('error', onEnd);
      resolve(ok);
    };
    const onDrain = settle(true);
    const onEnd = settle(false);
    stream.on('drain', onDrain);
    stream.on('close', onEnd);
    stream.on('error', onEnd);
  });
}
