import type { Stats } from '../api/types.js';

type Counter = { id: string; label: string; tone: string; value: (c: Stats['counts']) => number };

const COUNTERS: Counter[] = [
  { id: 'admitted', label: 'Admitted', tone: 'neutral', value: (c) => c.messages.admitted },
  { id: 'delivered', label: 'Delivered', tone: 'deliver', value: (c) => c.messages.delivered },
  { id: 'denied', label: 'Denied', tone: 'deny', value: (c) => c.messages.denied + c.effects.denied },
  { id: 'held', label: 'Held', tone: 'hold', value: (c) => c.messages.held + c.effects.held },
  {
    id: 'quarantined',
    label: 'Quarantined',
    tone: 'quarantine',
    value: (c) => c.messages.quarantined + c.effects.quarantined,
  },
  {
    id: 'effects-executed',
    label: 'Side effects executed',
    tone: 'deliver',
    value: (c) => c.effects.executed,
  },
  { id: 'dead-letters', label: 'Dead letters', tone: 'deny', value: (c) => c.deadLetters },
];

/** Totals since the mesh started; denied, held and quarantined include effects. */
export function Counters({ stats }: { stats: Stats | undefined }) {
  return (
    <ul class="counters" data-testid="counters">
      {COUNTERS.map((c) => (
        <li key={c.id} class={`counter tone-${c.tone}`} data-testid="counter" data-counter={c.id}>
          <span class="counter-value">{stats === undefined ? '…' : c.value(stats.counts)}</span>
          <span class="counter-label">{c.label}</span>
        </li>
      ))}
    </ul>
  );
}
