import type { Logger } from 'pino';
import type { MeshwardenError } from '../envelope/index.js';
import type { LedgerEntry, LedgerWriter } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import type { ActivePolicy } from './active.js';
import type { Clock } from './envelopes.js';
import { partitionsChanged, runtimeError } from './errors.js';
import type { LoadedModules } from './modules.js';
import type { Partition } from './partitions.js';
import { policyLoadedRecord } from './records.js';
import type { WorkTracker } from './work.js';

/**
 * A running mesh's reload (`Mesh.reload`): records the new policy (`policy.loaded`), then puts it and
 * its modules in force and restarts approval timers under it. Refused, with nothing recorded, for
 * another mesh or another partition count (the mesh's partitions are fixed for its life).
 */
export function reloadActivePolicy(
  deps: {
    readonly active: ActivePolicy;
    readonly ledger: Pick<LedgerWriter, 'appendAll' | 'durability'>;
    readonly partitions: readonly Pick<Partition, 'holds'>[];
    readonly clock: Clock;
    readonly work: Pick<WorkTracker, 'track'>;
    readonly log: Logger;
    /** A node of a cluster: it cannot put a policy in force on partitions other nodes own. */
    readonly clustered?: boolean;
    /** Times the alerts that wait on a hold (`hold.expiring`) by the policy now in force. */
    readonly retimeAlerts?: () => void;
  },
  policy: Policy,
  modules: LoadedModules,
  by: string | undefined,
): Promise<LedgerEntry> | MeshwardenError {
  const { active, ledger, partitions, log } = deps;
  if (deps.clustered === true) {
    return runtimeError('MW_RUNTIME_RELOAD', {
      detail:
        'a node of a cluster does not reload; restart the nodes one at a time with the new mesh file (each partition records the policy it runs under in partition.owned)',
    });
  }
  if (policy.mesh !== active.policy.mesh) {
    return runtimeError(
      'MW_RUNTIME_RELOAD',
      { detail: `the new policy is for mesh ${policy.mesh}, this one runs ${active.policy.mesh}` },
      { location: { file: policy.file, pointer: '/mesh', ...(policy.meshAt ?? { line: 1, col: 1 }) } },
    );
  }
  if (policy.partitions !== partitions.length) {
    return partitionsChanged(policy, partitions.length);
  }
  const record = policyLoadedRecord(
    deps.clock(),
    policy.mesh,
    policy.digest,
    policy.file,
    ledger.durability,
    policy.partitions,
    by,
  );
  // The policy goes into force once the ledger took its `policy.loaded` (in chain order, before
  // anything decided under it); an append refused at once (a closed ledger) leaves the old one.
  const durable = ledger
    .appendAll([record], 0, () => {
      // The ledger was opened with its durability; a new one in the file waits for the next start.
      if (policy.ledger.durability !== active.policy.ledger.durability)
        log.warn(
          { durability: policy.ledger.durability, inForce: ledger.durability },
          'ledger durability changes at the next start, not on reload',
        );
      // Messages already admitted keep the consumers recorded with them; what comes next is gated,
      // routed and delivered under the new policy.
      active.policy = policy;
      active.modules = modules;
      for (const p of partitions) p.holds.retime();
      deps.retimeAlerts?.();
      log.info({ digest: policy.digest }, 'policy reloaded');
    })
    .then((entries) => entries[0]!);
  deps.work.track(durable);
  return durable;
}
