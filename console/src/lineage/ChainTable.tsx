import type { Breaker, ChainLink } from '../api/types.js';
import { AgentName } from '../shell/CodeWords.js';
import { CurrentVerdict, Outcomes } from '../shell/Outcomes.js';
import { href } from '../shell/route.js';
import { timeText } from '../shell/time-text.js';
import { VerdictWhy } from '../shell/VerdictWhy.js';
import { breakerWords } from '../shell/words.js';

const VIA_WORDS: Record<string, string> = {
  causationid: 'its causationid names',
  'reply-token': 'carries the reply token of',
  echo: 'echoes',
};

/** A lineage as rows a pilot reads top to bottom: who sent what, what the warden said, what followed. */
export function ChainTable({
  links,
  selected,
  testid,
  open,
}: {
  links: ChainLink[];
  selected: string;
  testid: string;
  /** The breakers open now, when known: a freeze that is gone is told in the past tense. */
  open: Breaker[] | undefined;
}) {
  return (
    <table class="table chain" data-testid={testid}>
      <thead>
        <tr>
          <th>Hop</th>
          <th>From</th>
          <th>Message</th>
          <th>Verdict</th>
          <th>Rule</th>
          <th>Why</th>
          <th>Then</th>
        </tr>
      </thead>
      <tbody>
        {links.map((link) => (
          <tr
            key={link.id}
            class={link.id === selected ? 'selected' : ''}
            data-testid="chain-row"
            data-message-id={link.id}
          >
            <td>{link.hop}</td>
            <td>
              <AgentName
                raw={link.agent || link.source}
                unknown={link.reason === 'envelope.unknown_source'}
              />
            </td>
            <td>
              <a href={href.message(link.id)}>{link.type}</a>
              <div class="muted">
                {link.subject} · {timeText(link.at)}
              </div>
            </td>
            <td>
              <CurrentVerdict link={link} />
            </td>
            <td>
              {link.rule === null ? (
                '—'
              ) : breakerWords(link.rule) === link.rule ? (
                <code>{link.rule}</code>
              ) : (
                <span title={link.rule}>{breakerWords(link.rule)}</span>
              )}
            </td>
            <td>
              <VerdictWhy link={link} open={open} />
              {link.echoOf !== null && (
                <div class="echo">
                  {link.linkedTo ? (VIA_WORDS[link.linkedTo.via] ?? 'linked to') : 'echo of'}{' '}
                  <a href={href.message(link.echoOf)}>
                    {link.linkedTo ? `${link.linkedTo.effect} effect` : 'an effect the mesh emitted'}
                  </a>
                </div>
              )}
              {link.unverifiedCausation !== undefined && (
                <div class="echo">claimed causation {link.unverifiedCausation}: not verified</div>
              )}
            </td>
            <td>
              <Outcomes link={link} testid="chain-outcome" />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
