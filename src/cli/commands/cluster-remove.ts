import { isMeshwardenError, removeMeshState, shownServers } from '../../runtime/index.js';
import { EXIT } from '../errors.js';
import type { Output } from '../output.js';

/**
 * `cluster remove <mesh> --cluster URL [--force]`: removes a stopped mesh's NATS state (its stream
 * and lease bucket) for good, and says what is left: its ledger, PostgreSQL's to keep or drop.
 * Exit 1 when refused (a live node, work not yet done, no such mesh), with one `error MW_…` line.
 */
export async function clusterRemove(
  mesh: string,
  opts: { cluster: string; force?: boolean },
  out: Output,
): Promise<number> {
  let removed: Awaited<ReturnType<typeof removeMeshState>>;
  try {
    removed = await removeMeshState({ servers: opts.cluster, mesh, force: opts.force === true });
  } catch (err) {
    if (!isMeshwardenError(err)) throw err;
    out.fail(err);
    return EXIT.failed;
  }
  if (out.json) {
    out.document({ ok: true, ...removed });
    return EXIT.ok;
  }
  const parts = [
    removed.stream === undefined
      ? undefined
      : `stream ${removed.stream}${removed.discarded > 0 ? ` (${removed.discarded} message(s) of work not done, discarded)` : ''}`,
    removed.bucket === undefined ? undefined : `lease bucket ${removed.bucket}`,
  ].filter((p) => p !== undefined);
  out.line(`removed mesh ${mesh} from ${shownServers(opts.cluster)}: ${parts.join(', ')}`);
  const { ledger } = removed;
  out.line(
    ledger === undefined
      ? "its ledger stays in PostgreSQL: keep it (pg_dump -n <schema>), or drop it with DROP SCHEMA <schema> CASCADE (docs/distributed.md, 'Removing a mesh')"
      : `its ledger ${ledger.name} stays in PostgreSQL: keep it (pg_dump -n ${ledger.schema} ${ledger.database}), or drop it with DROP SCHEMA ${ledger.schema} CASCADE in database ${ledger.database} (docs/distributed.md, 'Removing a mesh')`,
  );
  return EXIT.ok;
}
