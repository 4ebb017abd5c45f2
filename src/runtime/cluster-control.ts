import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { errorText, isMeshwardenError, type MeshwardenError, partitionOf } from '../envelope/index.js';
import type { LedgerEntry } from '../ledger/index.js';
import { type BreakerState, breakerKey } from '../state/index.js';
import { type ClusterCountsListener, type ClusterEventListener, openClusterFeed } from './cluster-feed.js';
import { runtimeError } from './errors.js';
import type { RunCounts } from './events.js';
import type { HoldView } from './holds.js';
import { meshToken, streamNameOf } from './jetstream-names.js';
import type { Mesh } from './mesh.js';
import type { PilotAction } from './pilot-decision.js';
import { errorFromWire, errorToWire, type WireError } from './wire-error.js';

/** What a node of a cluster says of itself when asked (`nodes()`). */
export type NodeStatus = {
  readonly node: string;
  /**
   * The digest of the policy it runs. Nodes may differ while a new policy file is rolled out (one
   * node restarted at a time): each partition is decided under its owner's. Absent from a node of
   * an older version.
   */
  readonly policyDigest?: string;
  /**
   * How many items it packs into one JetStream message at most: 1 on a mesh whose stream was made
   * before packing (docs/distributed.md, "The wire"). Absent from a node of an older version.
   */
  readonly itemsPerMessage?: number;
  /** The partitions it decides for now. */
  readonly owned: readonly number[];
  /** Its work in flight: running, queued, awaiting durability, or waiting for a reply. */
  readonly busy: number;
  /** What it decided since it started. */
  readonly counts: RunCounts;
  /**
   * What waits for a pilot in its partitions, oldest first: as many as fit one NATS message with the
   * rest of the status (about a thousand with small payloads); `heldTotal` says how many there are.
   */
  readonly held: readonly HoldView[];
  readonly heldTotal: number;
  /** Breakers open in its partitions. */
  readonly breakers: readonly { readonly key: string; readonly state: BreakerState }[];
};

/**
 * The cluster's control channel over core NATS (distributed mode): every node answers
 * `mw.<mesh>.c.status` with its `NodeStatus`, and runs the pilot actions sent to
 * `mw.<mesh>.c.n.<node>` on its own partitions. What one node shows of the whole mesh (the console,
 * `run --cluster`'s summary) and a pilot's action on a partition another node owns go through it.
 */
export type ClusterControl = {
  /** This node's id. */
  readonly node: string;
  /**
   * Every live node's status, sorted by name: as many as the leases list as members answer, or
   * those that answered within `waitMs` (default 1 s). Rejects with MW_RUNTIME_CONTROL when NATS
   * cannot be asked.
   */
  nodes(waitMs?: number): Promise<NodeStatus[]>;
  /**
   * Every node's events (the mesh-wide live feed, cluster-feed.ts), with the node that decided each:
   * this node's at once; the others' alerts and alarms, and while this node follows all their
   * events, about 100 ms later. Returns the function that stops it.
   */
  onEvent(listener: ClusterEventListener): () => void;
  /** The other nodes' decisions, counted per edge and second, about every 100 ms. */
  onCounts(listener: ClusterCountsListener): () => void;
  /** Asks the other nodes for all their events until called back (a watcher of the feed came). */
  follow(): () => void;
  /** Runs a pilot action on the node that owns what it names (see `routePilot`). */
  route(action: PilotAction): Promise<LedgerEntry>;
  /**
   * Resolves once the mesh is quiet (or `signal` aborts): its stream holds no item, and no node has
   * work in flight; rejects with MW_RUNTIME_CONTROL when NATS cannot be asked,
   * seen twice in a row `pollMs` (100 ms) apart.
   */
  quiet(pollMs?: number, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
};

type Wire<T> = { readonly ok: T } | { readonly error: WireError };

export function serveClusterControl(opts: {
  readonly connection: NatsConnection;
  readonly mesh: Mesh;
  readonly meshName: string;
  readonly node: string;
  /** How many items its bus packs into one message at most (NodeStatus). */
  readonly itemsPerMessage: number;
  /** The live nodes as the leases see them, once joined: `nodes()` stops waiting once all answered. */
  readonly members?: () => readonly string[];
  readonly onError: (err: unknown) => void;
}): ClusterControl {
  const { connection: nc, mesh, meshName } = opts;
  const token = meshToken(meshName);
  const statusSubject = `mw.${token}.c.status`;
  const nodeSubject = (node: string) => `mw.${token}.c.n.${node}`;
  const local = () => mesh.node!;

  const ownStatus = (): NodeStatus => {
    const held = local().owned().length === 0 ? [] : mesh.held();
    return {
      node: opts.node,
      policyDigest: mesh.policy.digest,
      itemsPerMessage: opts.itemsPerMessage,
      owned: local().owned(),
      busy: local().inFlight(),
      counts: mesh.counts(),
      held,
      heldTotal: held.length,
      breakers: mesh.state.openBreakers(),
    };
  };
  const status = () => fitted(ownStatus(), Math.floor((nc.info?.max_payload ?? 1_048_576) * 0.9));

  const subs: Subscription[] = [
    nc.subscribe(statusSubject, {
      callback: (err, msg) => {
        if (err !== null) return opts.onError(err);
        msg.respond(status());
      },
    }),
    nc.subscribe(nodeSubject(opts.node), {
      callback: (err, msg) => {
        if (err !== null) return opts.onError(err);
        let action: PilotAction;
        try {
          action = msg.json<PilotAction>();
        } catch (cause) {
          msg.respond(JSON.stringify(failure(cause)));
          return;
        }
        settled(runHere(mesh, action)).then((wire) => msg.respond(JSON.stringify(wire)));
      },
    }),
  ];

  const feed = openClusterFeed({
    connection: nc,
    meshName,
    node: opts.node,
    onLocalEvent: (listener) => mesh.onEvent(listener),
    onError: opts.onError,
  });

  const nodes: ClusterControl['nodes'] = async (waitMs = 1_000) => {
    const found: NodeStatus[] = [];
    // Known members: stop once each of them answered, so a console's poll does not wait out the
    // timer. By name, not by count: a node that is leaving (its membership gone) still answers
    // until it exits, and counted in place of a member it cut that member off the list.
    const awaited = new Set(opts.members?.() ?? []);
    awaited.delete(opts.node);
    const known = awaited.size > 0;
    try {
      const replies = await nc.requestMany(statusSubject, '', { strategy: 'timer', maxWait: waitMs });
      for await (const reply of replies) {
        const wire = reply.json<Wire<NodeStatus>>();
        if (!('ok' in wire) || wire.ok.node === opts.node) continue;
        found.push(wire.ok);
        awaited.delete(wire.ok.node);
        if (known && awaited.size === 0) break;
      }
    } catch (cause) {
      throw controlError('for the status of its nodes', cause);
    }
    // Its own, read here (fitted as it answers the others): a busy moment (a hand-off) that held its
    // answer back past the wait never leaves the node that asks out of the list, its partitions unowned.
    found.push((JSON.parse(status()) as { ok: NodeStatus }).ok);
    return found.sort((a, b) => a.node.localeCompare(b.node));
  };

  const ask = async (node: string, action: PilotAction): Promise<LedgerEntry> => {
    let wire: Wire<LedgerEntry>;
    try {
      const reply = await nc.request(nodeSubject(node), JSON.stringify(action), { timeout: 10_000 });
      wire = reply.json<Wire<LedgerEntry>>();
    } catch (cause) {
      // No answer (the node left, the broker is away): a typed error the API maps to 503.
      throw controlError(`to ${action.action} on node ${node}`, cause);
    }
    if ('ok' in wire) return wire.ok;
    throw errorFromWire(wire.error);
  };

  return {
    node: opts.node,
    nodes,
    onEvent: (listener) => feed.onEvent(listener),
    onCounts: (listener) => feed.onCounts(listener),
    follow: () => feed.follow(),
    async route(action) {
      const targets = whoDecides(await nodes(), action, mesh.policy.partitions);
      if (isMeshwardenError(targets)) throw targets;
      const entries = await Promise.allSettled(targets.map((node) => ask(node, action)));
      const done = entries.find((e) => e.status === 'fulfilled');
      if (done !== undefined) return (done as PromiseFulfilledResult<LedgerEntry>).value;
      const reasons = entries.map((e) => (e as PromiseRejectedResult).reason as unknown);
      // A hold asked of several nodes: the one that holds it answers; if none did, it is not held.
      const elsewhere = (r: unknown) => isMeshwardenError(r) && r.code === 'MW_RUNTIME_PARTITION_ELSEWHERE';
      if ((action.action === 'approve' || action.action === 'reject') && targets.length > 1) {
        const real = reasons.find((r) => !elsewhere(r));
        throw real ?? runtimeError('MW_PILOT_NOT_HELD', { msgId: action.msgId });
      }
      throw reasons[0];
    },
    async quiet(pollMs = 100, signal) {
      let calm = 0;
      while (calm < 2 && signal?.aborted !== true) {
        let busy: boolean;
        try {
          const jsm = await jetstreamManager(nc);
          const { state } = await jsm.streams.info(streamNameOf(meshName));
          busy = state.messages > 0 || (await nodes(300)).some((n) => n.busy > 0);
        } catch (cause) {
          throw isMeshwardenError(cause) ? cause : controlError('whether the mesh is quiet', cause);
        }
        calm = busy ? 0 : calm + 1;
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    },
    async close() {
      feed.close();
      for (const sub of subs) sub.unsubscribe();
    },
  };
}

/**
 * The nodes a pilot action goes to, from every node's status: the hold's, the subject's partition's
 * owner, every node with the breaker open; or why none can take it. `partitions`: the mesh's count.
 */
export function whoDecides(
  nodes: readonly NodeStatus[],
  action: PilotAction,
  partitions: number,
): string[] | MeshwardenError {
  switch (action.action) {
    case 'approve':
    case 'reject': {
      const holder = nodes.find((n) => n.held.some((h) => h.msgId === action.msgId));
      if (holder !== undefined) return [holder.node];
      // Not listed, but some node has more holds than its status could carry: ask those.
      const unlisted = nodes.filter((n) => n.heldTotal > n.held.length).map((n) => n.node);
      if (unlisted.length > 0) return unlisted;
      // A partition no node that answered owns (a node slow to answer, a hand-over) may hold it:
      // "not held" would be a guess, so the pilot is asked to try again.
      const unowned = unownedPartitions(nodes, partitions);
      if (unowned.length > 0)
        return runtimeError('MW_RUNTIME_PARTITION_ELSEWHERE', {
          what: `message ${action.msgId}`,
          where: `a partition no live node answered for just now (${unowned.join(', ')})`,
        });
      return runtimeError('MW_PILOT_NOT_HELD', { msgId: action.msgId });
    }
    case 'freeze':
    case 'unfreeze': {
      const p = partitionOf(action.subject, partitions);
      const owner = nodes.find((n) => n.owned.includes(p));
      if (owner === undefined)
        return runtimeError('MW_RUNTIME_PARTITION_ELSEWHERE', {
          what: action.subject,
          where: `partition ${p} (no live node owns it just now)`,
        });
      return [owner.node];
    }
    case 'reset': {
      const { breaker, key: scopeKey } = action;
      const key = breakerKey(breaker, scopeKey);
      const open = nodes.filter((n) => n.breakers.some((b) => b.key === key));
      if (open.length === 0) return runtimeError('MW_PILOT_NO_BREAKER', { id: breaker, key: scopeKey });
      return open.map((n) => n.node);
    }
  }
}

/**
 * A status as the JSON of its reply, within `maxBytes`: with too many holds for one message, the
 * oldest that fit (`heldTotal` keeps the count).
 */
export function fitted(status: NodeStatus, maxBytes: number): string {
  const text = JSON.stringify({ ok: status });
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let room = maxBytes - Buffer.byteLength(JSON.stringify({ ok: { ...status, held: [] } }));
  const kept: HoldView[] = [];
  for (const hold of status.held) {
    room -= Buffer.byteLength(JSON.stringify(hold)) + 1;
    if (room < 0) break;
    kept.push(hold);
  }
  return JSON.stringify({ ok: { ...status, held: kept } });
}

function controlError(what: string, cause: unknown): MeshwardenError {
  return runtimeError('MW_RUNTIME_CONTROL', { what, cause: errorText(cause) }, { cause });
}

/** Runs an action with this node's own partitions only: one hop, never routed on. */
function runHere(mesh: Mesh, action: PilotAction): Promise<LedgerEntry> {
  const pilot = mesh.node!.pilot;
  if (
    typeof action !== 'object' ||
    action === null ||
    !['approve', 'reject', 'freeze', 'unfreeze', 'reset'].includes(action.action)
  )
    return Promise.reject(controlError('a pilot action', 'it is not one'));
  const act = (): ReturnType<typeof pilot.approve> => {
    switch (action.action) {
      case 'approve':
        return pilot.approve(action.msgId, action.act);
      case 'reject':
        return pilot.reject(action.msgId, action.act);
      case 'freeze':
        return pilot.freeze(action.subject, action.act);
      case 'unfreeze':
        return pilot.unfreeze(action.subject, action.act);
      case 'reset':
        return pilot.resetBreaker(action.breaker, action.key, action.act);
    }
  };
  const result = act();
  return isMeshwardenError(result) ? Promise.reject(result) : result;
}

function settled<T>(work: Promise<T>): Promise<Wire<T>> {
  return work.then(
    (ok) => ({ ok }),
    (err: unknown) => failure(err),
  );
}

function failure(err: unknown): Wire<never> {
  return { error: errorToWire(err) };
}

/**
 * The partitions no live node answered for (a take-over under way): what a mesh-wide list built
 * from the nodes' statuses cannot show, said beside it so that a pilot never reads it as empty.
 */
export function unownedPartitions(nodes: readonly NodeStatus[], partitions: number): number[] {
  const owned = new Set(nodes.flatMap((n) => n.owned));
  const missing: number[] = [];
  for (let p = 0; p < partitions; p++) if (!owned.has(p)) missing.push(p);
  return missing;
}
