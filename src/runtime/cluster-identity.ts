import { ledgerName } from '../ledger/index.js';

// What every node of a mesh must agree on, as the mesh's stream records it (the first node's, in
// its description before the wire: jetstream-stream.ts): written and read here only.

/** A mesh's identity: its partition count and the name of its shared ledger. */
export function identityOf(partitions: number, ledgerAt: string): string {
  return `partitions ${partitions}, ledger ${ledgerName(ledgerAt)}`;
}

/** The partition count and ledger name an identity says; none for text no node wrote. */
export function identityParts(
  identity: string,
): { readonly partitions: number; readonly ledger: string } | undefined {
  const m = /^partitions (\d+), ledger (.*)$/.exec(identity);
  return m === null ? undefined : { partitions: Number(m[1]), ledger: m[2]! };
}
