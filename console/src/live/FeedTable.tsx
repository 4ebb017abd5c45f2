import type { ComponentChildren } from 'preact';
import type { FeedDriftAlarm, FeedEvent } from '../api/types.js';
import { metricWord, num } from '../drift/drift-words.js';
import { AgentName, RuleWords } from '../shell/CodeWords.js';
import { detailWords } from '../shell/detail-words.js';
import { href } from '../shell/route.js';
import { timeText } from '../shell/time-text.js';
import { VerdictBadge } from '../shell/VerdictBadge.js';
import type { FeedRow } from './feed-tally.js';

/** The newest events, newest first; a click opens the message's lineage. */
export function FeedTable({ rows }: { rows: FeedRow[] }) {
  if (rows.length === 0)
    return (
      <p class="empty">
        Nothing yet: decisions appear here as the mesh makes them, from the moment this page opened. Earlier
        ones are in Search &amp; lineage and the Ledger.
      </p>
    );
  return (
    <table class="table clickable feed" data-testid="feed-table">
      <thead>
        <tr>
          <th>Time</th>
          <th>Message</th>
          <th>Subject</th>
          <th>Verdict</th>
          <th>Why</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(({ seq, event }) => (
          <tr
            key={seq}
            data-testid="feed-row"
            data-message-id={event.id}
            data-kind={event.kind}
            data-node={event.node}
            onClick={() => {
              location.hash = event.kind === 'drift-alarm' ? '#/drift' : href.message(event.id);
            }}
          >
            <FeedCells event={event} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function FeedCells({ event }: { event: FeedEvent }) {
  // In a cluster each line names the node that decided it.
  const time = (
    <td>
      {timeText(event.at)}
      {event.node !== undefined && <span class="muted"> on {event.node}</span>}
    </td>
  );
  switch (event.kind) {
    case 'decision':
      return (
        <>
          {time}
          <td>
            <a href={href.message(event.id)} data-testid="feed-lineage-link">
              {event.type}
            </a>
            {event.gated === 'effect' && <span class="muted"> (side effect)</span>}
            <div class="muted small">
              from <AgentName raw={event.from} />
            </div>
          </td>
          <td>{event.subject}</td>
          <td>
            <VerdictBadge verdict={event.decision} />
          </td>
          <td>
            <span title={detailWords(event.detail, 'now')}>
              <RuleWords reason={event.reason} stage={event.stage} rule={event.rule} />
            </span>
            {event.rule !== null && <span class="muted"> · rule {event.rule}</span>}
          </td>
        </>
      );
    case 'delivered':
      return (
        <>
          {time}
          <td colSpan={2} class="muted">
            handed to <AgentName raw={event.agent} />
          </td>
          <td>
            <span class="tag">handled</span>
          </td>
          <td />
        </>
      );
    case 'effect-executed':
      return (
        <>
          {time}
          <td>{event.effect}</td>
          <td>{event.subject}</td>
          <td>
            <span class="tag">executed</span>
          </td>
          <td />
        </>
      );
    case 'drift-alarm':
      return <DriftAlarmCells event={event} time={time} />;
    case 'dead-letter':
      return (
        <>
          {time}
          <td colSpan={2}>
            failed in <AgentName raw={event.worker} />
          </td>
          <td>
            <span class="tag dead">dead letter</span>
          </td>
          <td class="code">{event.code}</td>
        </>
      );
    case 'released':
      return (
        <>
          {time}
          <td colSpan={2} class="muted">
            {event.type === undefined ? 'hold' : `${event.type} for ${event.subject ?? ''}`} answered by{' '}
            <AgentName raw={event.by} />
            {event.reason === undefined ? null : ` (“${event.reason}”)`}
          </td>
          <td>
            <span class="tag" data-answer={event.refused === undefined ? event.outcome : 'refused'}>
              {event.outcome === 'deliver'
                ? 'approved'
                : event.refused === undefined
                  ? 'rejected'
                  : 'approved, then refused'}
            </span>
          </td>
          <td>{event.refused === undefined ? null : <RuleWords reason={event.refused} />}</td>
        </>
      );
  }
}

/** A drift monitor's alarm: which version drifted on what, linking to the Drift view and to the message that raised it. */
function DriftAlarmCells({ event, time }: { event: FeedDriftAlarm; time: ComponentChildren }) {
  const [name, version] = event.agent.split('@');
  return (
    <>
      {time}
      <td>
        <a href="#/drift" data-testid="feed-drift-link">
          {name} {version} drifted
        </a>
        <div class="muted small">
          from {event.baseline} on <span class="code">{event.field}</span>
        </div>
      </td>
      <td>monitor {event.monitor}</td>
      <td>
        <span class="tag dead" data-testid="feed-drift-alarm">
          drift alarm
        </span>
      </td>
      <td>
        <span title={event.summary}>
          {metricWord(event.metric)} {num(event.score)}, over {num(event.threshold)}
          {event.action === 'freeze'
            ? `: ${name} frozen`
            : event.action === 'deny'
              ? `: ${name}'s output denied`
              : ''}
        </span>
        {event.id !== '' && (
          <>
            {' '}
            <a href={href.message(event.id)} class="muted" data-testid="feed-lineage-link">
              the message that raised it
            </a>
          </>
        )}
      </td>
    </>
  );
}
