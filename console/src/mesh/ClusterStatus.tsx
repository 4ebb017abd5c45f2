import type { ClusterStatus as Cluster } from '../api/types.js';

/** Which node this console talks to, the live nodes and their partitions; nothing when embedded. */
export function ClusterStatus({ data }: { data: Cluster | undefined }) {
  if (data === undefined || data.mode !== 'cluster') return null;
  return (
    <section class="cluster" data-testid="cluster-status" aria-label="Cluster">
      <p class="cluster-summary">
        Node <strong>{data.node}</strong> of a cluster of {data.nodes.length} live node
        {data.nodes.length === 1 ? '' : 's'}, sharing {data.partitions} partitions. Everything here is the
        whole mesh's.
      </p>
      <ul class="cluster-nodes">
        {data.nodes.map((n) => (
          <li
            key={n.node}
            class={n.self ? 'cluster-node self' : 'cluster-node'}
            data-testid="cluster-node"
            data-node={n.node}
            data-self={String(n.self)}
            data-owned={n.owned.join(',')}
          >
            <strong>{n.node}</strong>
            {n.self && <span class="muted"> (this one)</span>}: partitions{' '}
            {n.owned.length === 0 ? 'none' : n.owned.join(', ')}
            <span class="muted">
              {' '}
              · {n.held} held · {n.breakers} {n.breakers === 1 ? 'breaker' : 'breakers'} open · {n.busy} in
              flight
            </span>
          </li>
        ))}
      </ul>
      {data.unowned.length > 0 && (
        <p class="cluster-unowned" data-testid="cluster-unowned">
          Partitions {data.unowned.join(', ')} have no owner just now: a node left, and another takes them
          over within a lease.
        </p>
      )}
    </section>
  );
}
