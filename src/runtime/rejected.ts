import type { Verdict, VerdictIssue } from '../gate/index.js';
import { boundText, rawFields } from './candidate-text.js';
import type { RawEvidence } from './evidence.js';

// What the ledger records of refused input, bounded whatever arrived: the ledger is append-only, so
// a refusal must never cost more than a few KiB of it.

/**
 * Input that never became an envelope: where it was and what is wrong with it. `raw` is what
 * arrived (text, bytes, or evidence of input too large to hold); the ledger keeps only a bounded
 * prefix with the size and SHA-256 of the whole, and bounds `detail`, `location` and `issues` too.
 */
export type RejectedInput = {
  readonly raw: string | Uint8Array | RawEvidence;
  readonly location: string;
  readonly reason: string;
  readonly detail: string;
  readonly issues?: readonly VerdictIssue[];
  /** Who sent it, as a decision names them (`pilot:`, `partner:`, `a2a:`, `mcp:<token name>`). */
  readonly sentBy?: string;
  /** Sent with an outside caller's (`partner`) token. */
  readonly partner?: boolean;
};

type Evidence = { raw: string; rawBytes?: number; rawDigest?: string };

/** The `ingress` quarantine verdict and the evidence of a rejected input, each bounded. */
export function rejection(input: RejectedInput): {
  verdict: Verdict;
  extra: Evidence & { location: string; partner?: true; sentBy?: string };
} {
  const issues = input.issues?.slice(0, 20).map(
    (i): VerdictIssue => ({
      ...(i.keyword === undefined ? {} : { keyword: boundText(i.keyword, 64) }),
      message: boundText(i.message, 256),
      pointer: boundText(i.pointer, 256),
    }),
  );
  const verdict: Verdict = {
    decision: 'quarantine',
    stage: 'ingress',
    reason: boundText(input.reason, 64),
    detail: boundText(input.detail),
    ...(issues === undefined ? {} : { issues }),
  };
  const extra: Evidence & { location: string; partner?: true; sentBy?: string } = {
    ...rawFields(input.raw),
    location: boundText(input.location, 256),
  };
  if (input.partner === true) extra.partner = true;
  if (input.sentBy !== undefined) extra.sentBy = boundText(input.sentBy, 256);
  return { verdict, extra };
}
