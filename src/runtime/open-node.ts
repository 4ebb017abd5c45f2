import type { Logger } from 'pino';
import type { Ledger } from '../ledger/index.js';
import type { Policy } from '../policy/index.js';
import { type ClusterControl, serveClusterControl } from './cluster-control.js';
import { createMesh } from './mesh.js';
import type { LoadedModules } from './modules.js';
import type { OpenMeshResult, OpenOptions } from './open.js';
import type { ClusterLink, ClusterOptions } from './open-cluster.js';
import type { PartitionLeases } from './partition-leases.js';
import { within } from './within.js';

/** A cluster node's log: its lines name the node. */
export function nodeLog(log: Logger, cluster: ClusterOptions): Logger {
  return log.child({ layer: 'runtime', node: cluster.node });
}

/**
 * Joins the cluster as one node (distributed mode): the mesh decides for the partitions its leases
 * give it, each rebuilt from its chain when taken over (mesh-ownership.ts); nothing is recorded or
 * resumed here, as every partition's owner records `partition.owned` and resumes its work. Closing
 * waits for what this node sent, hands its partitions off, then closes the bus and the ledger.
 */
export async function openClusterNode(
  ledger: Ledger,
  policy: Policy,
  modules: LoadedModules,
  opts: Pick<
    OpenOptions,
    'clock' | 'retry' | 'transports' | 'log' | 'sinks' | 'telemetry' | 'alertCloseWaitMs'
  > & {
    cluster: ClusterOptions;
    link: ClusterLink;
  },
): Promise<OpenMeshResult> {
  const log = nodeLog(opts.log, opts.cluster);
  const { link } = opts;
  // Bound below, once the mesh it serves exists; a pilot action cannot come before the API listens.
  let control: ClusterControl | undefined;
  let leases: PartitionLeases | undefined;
  const mesh = createMesh({
    policy,
    ledger,
    modules,
    transports: opts.transports ?? [],
    log,
    ...(opts.clock === undefined ? {} : { clock: opts.clock }),
    ...(opts.retry === undefined ? {} : { retry: opts.retry }),
    ...(opts.sinks === undefined ? {} : { alertSinks: opts.sinks }),
    ...(opts.telemetry === undefined ? {} : { telemetry: opts.telemetry }),
    ...(opts.alertCloseWaitMs === undefined ? {} : { alertCloseWaitMs: opts.alertCloseWaitMs }),
    cluster: {
      ...link.router,
      name: link.node,
      routePilot: (action) => control!.route(action),
      // Until the leases are joined, none is held as far as this node knows.
      unowned: () => leases?.unowned() ?? policy.partitions,
    },
  });
  control = serveClusterControl({
    connection: link.connection,
    mesh,
    meshName: policy.mesh,
    node: link.node,
    itemsPerMessage: link.itemsPerMessage,
    members: () => leases?.members() ?? [],
    onError: (err) => log.warn({ err }, 'control'),
  });
  try {
    leases = await link.join(mesh);
  } catch (err) {
    await control.close();
    await mesh.close();
    await link.close();
    throw err;
  }
  let ledgerFailed = false;
  void ledger.closed.then((err) => {
    ledgerFailed = err !== undefined;
  });
  let closing: Promise<void> | undefined;
  let unsettled = false;
  /** Whether `idle` came within CLOSE_WAIT_MS; past SAY_WAIT_MS says what it waits for, at info. */
  const settledOrSaid = async (idle: Promise<void>): Promise<boolean> => {
    if (await within(SAY_WAIT_MS, idle)) return true;
    const waiting = { busy: mesh.node?.inFlight(), ms: CLOSE_WAIT_MS };
    log.info(waiting, 'leaving once the replies to what this node sent and its handlers settle');
    return within(CLOSE_WAIT_MS - SAY_WAIT_MS, idle);
  };
  const close = () => {
    closing ??= (async () => {
      // Its partitions first: while this node owns them the other nodes keep sending them work, so
      // under load they never go quiet here. Each is handed off once its batches in flight settled.
      await leases?.close();
      // Then the replies to what this node sent, from the owners, and the handlers it started: wait
      // for them before leaving, but not for good (an owner gone for good), and not at all once the
      // ledger failed (nothing settles).
      if (!ledgerFailed && !(await settledOrSaid(mesh.idle()))) {
        unsettled = true;
        log.warn({ ms: CLOSE_WAIT_MS }, 'replies from the owners did not all come; leaving anyway');
      }
      mesh.node?.stop();
      if (!(await within(CLOSE_WAIT_MS, mesh.close()))) {
        unsettled = true;
        log.warn({ ms: CLOSE_WAIT_MS }, 'in-flight work did not settle; closing anyway');
      }
      await control?.close();
      await link.close();
      await ledger.close();
    })();
    return closing;
  };
  const leftUnsettled = () => unsettled;
  const opened = {
    mesh,
    ledger,
    resumed: 0,
    leases,
    control,
    close,
    leftUnsettled,
    [Symbol.asyncDispose]: close,
  };
  return { ok: true, opened };
}

/** How long a leaving cluster node waits for its work in flight, at each of two steps. */
const CLOSE_WAIT_MS = 30_000;
/** When a leaving node that still waits says so. */
const SAY_WAIT_MS = 2_000;
