import type { Stats } from '../api/types.js';
import { Term } from '../glossary/Term.js';

type Counter = { id: string; label: string; tone: string; value: (c: Stats['counts']) => number };

// The gate's first verdict on each message and side effect: a hold answered later stays counted here.
const VERDICTS: Counter[] = [
  // Messages only: the warden counts a side effect that passed when it is executed (below).
  { id: 'admitted', label: 'Messages passed', tone: 'neutral', value: (c) => c.messages.admitted },
  { id: 'held', label: 'Held', tone: 'hold', value: (c) => c.messages.held + c.effects.held },
  { id: 'denied', label: 'Denied', tone: 'deny', value: (c) => c.messages.denied + c.effects.denied },
  {
    id: 'quarantined',
    label: 'Quarantined',
    tone: 'quarantine',
    value: (c) => c.messages.quarantined + c.effects.quarantined,
  },
];

// How the holds were answered: by a pilot, or by their timeout (an older warden does not say).
const ANSWERS: Counter[] = [
  { id: 'approved', label: 'Approved by a pilot', tone: 'deliver', value: (c) => c.answered?.approved ?? 0 },
  { id: 'rejected', label: 'Rejected by a pilot', tone: 'deny', value: (c) => c.answered?.rejected ?? 0 },
  { id: 'timed-out', label: 'Timed out', tone: 'hold', value: (c) => c.answered?.timedOut ?? 0 },
];

// What happened afterwards, including held items a pilot approved.
const OUTCOMES: Counter[] = [
  { id: 'delivered', label: 'Delivered to agents', tone: 'deliver', value: (c) => c.messages.delivered },
  {
    id: 'effects-executed',
    label: 'Side effects executed',
    tone: 'deliver',
    value: (c) => c.effects.executed,
  },
  { id: 'dead-letters', label: 'Dead letters', tone: 'deny', value: (c) => c.deadLetters },
];

function CounterList({
  stats,
  counters,
  label,
}: {
  stats: Stats | undefined;
  counters: Counter[];
  label: string;
}) {
  return (
    <ul class="counters" aria-label={label}>
      {counters.map((c) => (
        <li key={c.id} class={`counter tone-${c.tone}`} data-testid="counter" data-counter={c.id}>
          <span class="counter-value">{stats === undefined ? '…' : c.value(stats.counts)}</span>
          <span class="counter-label">{c.label}</span>
        </li>
      ))}
    </ul>
  );
}

/**
 * What waits now (the same number as the Held badge), apart from the totals since the mesh started, so
 * "Held since start" is never read as "held now". In a cluster the totals are the live nodes' sums
 * (api.md, GET /stats): a node that stops takes its counts with it, so they are not "since the mesh
 * started" and may go down.
 */
export function Counters({
  stats,
  waiting,
  cluster = false,
}: {
  stats: Stats | undefined;
  waiting: number | undefined;
  cluster?: boolean;
}) {
  const since = cluster ? 'Since each live node started' : 'Since the mesh started';
  return (
    <div class="counter-groups" data-testid="counters">
      <div class="counter-group">
        <h3>Now</h3>
        <ul class="counters" aria-label="Now">
          <li class="counter tone-hold" data-testid="counter" data-counter="waiting">
            <span class="counter-value">{waiting ?? '…'}</span>
            <span class="counter-label">
              <a href="#/held">waiting for a pilot</a>
            </span>
          </li>
        </ul>
      </div>
      <div class="counter-group">
        <h3>{since}: the gate’s first verdict</h3>
        <CounterList stats={stats} counters={VERDICTS} label="The gate’s first verdict since start" />
        <p class="hint" data-testid="counters-note">
          Each message and side effect is counted once, by the <Term id="gate">gate</Term>’s first verdict (a
          side effect that passed is counted when it is executed, under “what happened next”). An item held
          and later approved, rejected or timed out stays counted as held: a pilot’s rejections and timeouts
          are not in Denied, they are counted below (the <a href="#/ledger">Ledger</a> lists each answer).
        </p>
        {cluster && (
          <p class="hint" data-testid="counters-cluster-note">
            In a cluster these are the sums of the live nodes’ counts since each started: a node that stops or
            dies takes its counts with it, so they can go down. The <a href="#/ledger">Ledger</a> keeps every
            decision.
          </p>
        )}
      </div>
      <div class="counter-group">
        <h3>{since}: how holds were answered</h3>
        <CounterList stats={stats} counters={ANSWERS} label="Holds answered since start" />
        <p class="hint" data-testid="answers-note">
          A timed-out hold was delivered or denied as its approval rule says. An approval the gate refused
          when it asked again (a budget spent meanwhile) counts as approved here and as denied in the Ledger.
        </p>
      </div>
      <div class="counter-group">
        <h3>{since}: what happened next</h3>
        <CounterList stats={stats} counters={OUTCOMES} label="Outcomes since start" />
        <p class="hint">
          Delivered also counts held messages a pilot approved, so it can exceed Messages passed.
        </p>
      </div>
    </div>
  );
}
