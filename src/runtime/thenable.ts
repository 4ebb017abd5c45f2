/**
 * Whether a value a caller's code returned is to be awaited: any thenable, not only a native
 * Promise, since a handler's promise may come from another realm or a promise library.
 */
export function isThenable<R>(value: R | PromiseLike<R>): value is PromiseLike<R> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}
