import type { ClusterStatus as Cluster, Hold, MeshGraph, Stats } from '../api/types.js';
import { type Polled, usePolled } from '../api/use-polled.js';
import { Term } from '../glossary/Term.js';
import { ApiErrorNotice } from '../shell/ApiErrorNotice.js';
import { ClusterStatus } from './ClusterStatus.js';
import { Counters } from './Counters.js';
import { FrozenNow } from './FrozenNow.js';
import { MeshGraphView } from './MeshGraphView.js';
import { VerdictLegend } from './VerdictLegend.js';

export function MeshView({ holds }: { holds: Polled<{ holds: Hold[] }> }) {
  const mesh = usePolled<MeshGraph>('/mesh', 0);
  const stats = usePolled<Stats>('/stats', 2000);
  const cluster = usePolled<Cluster>('/cluster', 5000);
  return (
    <section class="view" data-testid="mesh-view">
      <header class="view-header">
        <h2>Mesh {mesh.data && <span class="muted">{mesh.data.mesh}</span>}</h2>
        <p class="hint">
          Who may talk to whom: messages come in through a <Term id="way-in">way in</Term>, pass from{' '}
          <Term id="agent">agent</Term> to agent, and leave as <Term id="side-effect">side effects</Term>.
          Each arrow shows how many decisions crossed it in the last {stats.data?.windowSeconds ?? 10}{' '}
          seconds, coloured by the <Term id="verdict">verdict</Term> most of them got.
        </p>
      </header>
      <ClusterStatus data={cluster.data} />
      <FrozenNow />
      <Counters
        stats={stats.data}
        waiting={holds.data?.holds.length}
        cluster={cluster.data?.mode === 'cluster'}
      />
      <ApiErrorNotice error={mesh.error ?? stats.error} />
      <VerdictLegend />
      <div class="graph-frame">
        {mesh.data === undefined ? (
          <p class="muted">Loading the mesh…</p>
        ) : (
          <MeshGraphView graph={mesh.data} stats={stats.data} />
        )}
      </div>
    </section>
  );
}
