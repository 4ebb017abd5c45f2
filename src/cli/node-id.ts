import { hostname } from 'node:os';

/**
 * A node id for `--cluster` without `--node`: the host name and `suffix` (the port, or the pid),
 * with what a lease key may not hold (anything but letters, digits, `-` and `_`) written as `-`.
 * Two nodes on one host differ by port; a restarted node keeps its id, and takes its share back.
 */
export function defaultNode(suffix: string): string {
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, '-') || 'node';
  return `${host}-${suffix}`;
}
