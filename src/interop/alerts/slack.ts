import type { AlertMessage, JsonObject } from '../../runtime/index.js';

const MARK: Readonly<Record<string, string>> = {
  critical: ':rotating_light:',
  error: ':red_circle:',
  warning: ':warning:',
  info: ':information_source:',
};

/** Slack's mrkdwn needs &, < and > escaped in text it shows. */
function escaped(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/**
 * An incoming-webhook message: `text` (notifications, and clients without blocks) and `blocks`: the
 * summary, the facts, and a link to the console's lineage of the case when `alerts.console` is set.
 */
export function slackMessageOf(m: AlertMessage): JsonObject {
  // A breaker closing resolves what its opening raised: it reads as a resolve, not a new alarm.
  const head =
    m.event === 'breaker.closed'
      ? `:white_check_mark: *resolved* ${m.event} in mesh ${escaped(m.mesh)}`
      : `${MARK[m.severity] ?? ''} *${m.severity}* ${m.event} in mesh ${escaped(m.mesh)}`;
  const summary = escaped(m.summary);
  const held = m.suppressed > 0 ? ` (${m.suppressed} more held back since the last alert)` : '';
  const facts = [
    `route *${escaped(m.route)}*`,
    ...(m.subject === undefined || m.subject === '' ? [] : [`subject \`${escaped(m.subject)}\``]),
    ...(m.msgId === undefined ? [] : [`message \`${m.msgId}\``]),
  ].join(' · ');
  const blocks: JsonObject[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `${head}\n${summary}${held}` } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: facts }] },
  ];
  if (m.link !== undefined)
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `<${m.link}|Open the lineage in the Meshwarden console>` },
    });
  const link = m.link === undefined ? '' : ` ${escaped(m.link)}`;
  // The notification's text is mrkdwn too: a summary may quote an outsider (`<!channel>`, `<url|label>`).
  const tag = m.event === 'breaker.closed' ? 'resolved' : m.severity;
  return { text: `[${tag}] ${summary}${held}${link}`, blocks };
}
