import { meshToken } from './jetstream-names.js';

/** The mesh's lease bucket on NATS KV (stream `KV_MW_LEASES_<mesh>`), one per mesh. */
export function leaseBucketOf(mesh: string): string {
  return `MW_LEASES_${meshToken(mesh)}`;
}

/** A live node's membership key, `n.<node>`. */
export function memberKey(node: string): string {
  return `n.${node}`;
}

/** A partition's lease key, `p.<partition>`. */
export function partitionKey(partition: number): string {
  return `p.${partition}`;
}

export function nodeOfMemberKey(key: string): string | undefined {
  return key.startsWith('n.') ? key.slice(2) : undefined;
}

export function partitionOfKey(key: string): number | undefined {
  const match = /^p\.(\d+)$/.exec(key);
  return match === null ? undefined : Number(match[1]);
}

/** Where nodes tell each other that they changed the lease bucket (lease-wake.ts): core NATS. */
export function leaseNoticeSubject(mesh: string): string {
  return `mw.${meshToken(mesh)}.c.leases`;
}
