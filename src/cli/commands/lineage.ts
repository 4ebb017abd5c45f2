import { type Command, Option } from 'commander';
import {
  type ChainLink,
  formatDuration,
  impactOf,
  isMeshwardenError,
  type LedgerReader,
  type LinkedEffect,
  type SearchResult,
  searchLedger,
  type VerdictIssue,
  whyChain,
} from '../../runtime/index.js';
import { createApiClient, reportFailure } from '../api-client.js';
import { cliError, EXIT } from '../errors.js';
import { type LedgerPlace, openExistingLedger } from '../ledger-access.js';
import { inlineText as inline, type Output, table } from '../output.js';

/**
 * Where `why` and `impact` read: a ledger (`--data`, `--ledger`), or with `--url` a running mesh's
 * API, the same documents (GET /messages/{id}/why and /impact), so that a pilot command's hint
 * reaches the ledger of the mesh it acted on.
 */
export type LineagePlace = LedgerPlace & { readonly url?: string; readonly token?: string };

/** `--url` and `--token` on `why` and `impact`: the same documents from a running mesh's API. */
export function lineageOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--url <url>',
        'read it from a running mesh (the address up printed), not a ledger',
      ).conflicts(['data', 'ledger']),
    )
    .addOption(new Option('--token <token>', 'an API token for --url (role viewer)').env('MESHWARDEN_TOKEN'));
}

type WhyDocument = NonNullable<Awaited<ReturnType<typeof whyChain>>>;
type ImpactDocument = NonNullable<Awaited<ReturnType<typeof impactOf>>>;

/** The lineage document of `id`, or the exit code after saying why there is none. */
async function lineageOf<T>(
  at: LineagePlace,
  id: string,
  route: 'why' | 'impact',
  read: (ledger: LedgerReader) => Promise<T | undefined>,
  out: Output,
): Promise<T | number> {
  if (at.url !== undefined) {
    const api = createApiClient({ url: at.url, token: at.token });
    if (isMeshwardenError(api)) return reportFailure(api, out);
    const reply = await api.get<T>(`/messages/${encodeURIComponent(id)}/${route}`);
    if (!isMeshwardenError(reply)) return reply;
    // The same answer, and exit, as from a ledger file.
    if (reply.code !== 'MW_API_NOT_FOUND') return reportFailure(reply, out);
    const named = await api.get<SearchResult>(`/search?q=${encodeURIComponent(id)}`);
    out.fail(
      cliError('MW_CLI_NOT_FOUND', { id, hint: isMeshwardenError(named) ? '' : hintOf(named, route) }),
    );
    return EXIT.failed;
  }
  // `up`'s users often have MESHWARDEN_URL set, which --url deliberately does not read.
  const url = process.env.MESHWARDEN_URL;
  const orElse = `or read it from a running mesh with --url ${url === undefined || url === '' ? '<the address up printed>' : url}`;
  const ledger = await openExistingLedger({ ...at, orElse }, out);
  if (ledger === undefined) return EXIT.usage;
  await using _ledger = ledger;
  const found = await read(ledger);
  if (found !== undefined) return found;
  const named = await searchLedger(ledger, id, HINTED);
  const hint = hintOf(named, route, named.kind === 'agent' ? await versionsOf(ledger, id) : undefined);
  out.fail(cliError('MW_CLI_NOT_FOUND', { id, hint }));
  return EXIT.failed;
}

/** Messages named in a not-found hint, at most. */
const HINTED = 5;

/**
 * For a subject or an agent version given where a message id goes: its newest messages, to pass
 * instead (`why account:8841` is a natural first try). Empty when it names none.
 */
function hintOf(named: SearchResult, route: 'why' | 'impact', versions?: readonly string[]): string {
  if (named.kind === 'agent' && named.results.length === 0) {
    const known =
      versions === undefined
        ? ''
        : versions.length === 0
          ? ', nor from any version of it'
          : `; it has ${versions.join(', ')}`;
    return `; ${named.q} is an agent version, and the ledger has no message from it${known}`;
  }
  if (named.kind === 'message' || named.results.length === 0) return '';
  const what = named.kind === 'subject' ? 'a subject' : 'an agent version';
  const ids = named.results.slice(0, HINTED).map((link) => `${link.id} (${link.type}, ${link.verdict})`);
  return `; ${named.q} is ${what}, whose newest messages are ${ids.join(', ')}: meshwarden ${route} <one of them>`;
}

/** The versions of `agentVersion`'s agent the newest entries name, newest first, at most HINTED. */
async function versionsOf(ledger: LedgerReader, agentVersion: string): Promise<string[]> {
  const name = agentVersion.slice(0, agentVersion.indexOf('@') + 1);
  const versions = new Set<string>();
  for (const e of (await ledger.byAgentPrefix(name, { limit: 1_000 })).reverse())
    if (e.agent !== undefined && versions.size < HINTED) versions.add(e.agent);
  return [...versions];
}

/** `why <id>`: the causal chain that led to a message, root first. */
export async function why(id: string, opts: LineagePlace, out: Output): Promise<number> {
  const result = await lineageOf<WhyDocument>(opts, id, 'why', (ledger) => whyChain(ledger, id), out);
  if (typeof result === 'number') return result;
  if (out.json) {
    out.document(result);
    return EXIT.ok;
  }
  const last = result.chain.at(-1)!;
  // An input line that never parsed has no subject to be about.
  const about = last.subject === '' || last.subject === undefined ? '' : ` about ${inline(last.subject)}`;
  out.line(
    `why ${id}: ${last.gated === 'effect' ? 'effect ' : ''}${inline(last.type)}${about}, the last of ${result.chain.length} message(s) in its chain, root first:`,
  );
  out.line(table(result.chain.map(row)));
  for (const link of result.chain) {
    for (const text of issueLines(link.id, link.issues ?? [])) out.line(text);
    if (link.linkedTo !== null) out.line(inline(`note: ${link.id} ${linkNote(link.linkedTo)}`));
    if (link.unverifiedCausation !== undefined)
      out.line(
        inline(
          `note: ${link.id} claimed to be caused by ${link.unverifiedCausation}, which the gate could not verify: not linked`,
        ),
      );
    for (const o of link.outcomes) {
      if (o.kind === 'hold.released' && o.agent !== null)
        out.line(
          `${inline(o.agent)} ${o.outcome === 'deliver' ? 'approved' : 'rejected'} ${link.id}: "${inline(o.reason ?? '')}"`,
        );
      if (o.kind === 'hold.released' && o.verdict !== undefined && o.verdict.decision !== 'deliver')
        out.line(
          `note: ${link.id} was gated again on release and refused: ${inline(o.verdict.reason)}: ${inline(o.verdict.detail)}`,
        );
      if (o.alert !== undefined) {
        const a = o.alert;
        const told =
          a.outcome === 'sent'
            ? 'told'
            : a.outcome === 'failed'
              ? 'could not tell'
              : 'did not tell (queue full)';
        const tries = a.attempts === 1 ? '1 try' : `${a.attempts} tries`;
        const why = a.error === undefined ? '' : `: ${a.error.code}: ${a.error.message}`;
        out.line(
          inline(
            `alert: ${told} sink ${a.sink} about ${link.id} at ${o.at} (route ${a.route}, ${a.event}, ${a.severity}, ${tries})${why}`,
          ),
        );
      }
      if (o.error !== undefined) {
        const what = o.kind === 'dead-letter' ? 'dead-lettered' : 'failed';
        const tries = o.attempt === undefined ? '' : ` (try ${o.attempt})`;
        out.line(inline(`${o.agent ?? ''} ${what} ${link.id}${tries}: ${o.error.code}: ${o.error.message}`));
      }
    }
  }
  for (const b of result.breakers) {
    const what = b.counted === 'deadLetters' ? 'dead letters' : 'failed tries';
    out.line(
      inline(
        `breaker ${b.breaker} stopped ${b.stopped}: it opened for ${b.key} at ${b.at} after ${b.count} ${what} of ${b.of} (over ${b.over} in ${formatDuration(b.windowMs)}): ${b.failures.join(', ')}`,
      ),
    );
  }
  for (const d of result.drift ?? []) {
    out.line(
      inline(
        `drift alarm ${d.monitor} stopped ${d.stopped}: raised at ${d.raisedAt} by ${d.raisedBy}: ${d.summary}`,
      ),
    );
  }
  for (const a of result.actions) {
    const what = a.action === 'reset' ? `reset breaker ${a.breaker ?? ''} for` : `${a.action}`;
    out.line(inline(`${a.pilot} ${what} ${a.subject} at ${a.at}: "${a.reason}"`));
  }
  return EXIT.ok;
}

/** `impact <id | agent@version>`: everything that followed a message, or an agent version's blast radius. */
export async function impact(target: string, opts: LineagePlace, out: Output): Promise<number> {
  const result = await lineageOf<ImpactDocument>(
    opts,
    target,
    'impact',
    (ledger) => impactOf(ledger, target),
    out,
  );
  if (typeof result === 'number') return result;
  if (out.json) {
    out.document(result);
    return EXIT.ok;
  }
  out.line(
    `impact of ${target}: ${result.roots.length} starting message(s), ${result.impact.length} consequence(s)`,
  );
  out.line(table([...result.roots, ...result.impact].map(row)));
  return EXIT.ok;
}

/** Issues shown under the table; the rest is counted (`why --json` has them all). */
const SHOWN_ISSUES = 10;

/** A verdict's issues (each contract problem, say), one per line: the detail sentence names only the first. */
function issueLines(id: string, issues: readonly VerdictIssue[]): string[] {
  if (issues.length === 0) return [];
  const lines = [`problems of ${id} (${issues.length}):`];
  for (const i of issues.slice(0, SHOWN_ISSUES))
    lines.push(`  at ${inline(i.pointer || '/')}: ${inline(i.message)}`);
  if (issues.length > SHOWN_ISSUES)
    lines.push(`  and ${issues.length - SHOWN_ISSUES} more (why --json lists them all)`);
  return lines;
}

/** How an ingress message came to be linked to an effect, named by the effect's type. */
function linkNote(l: LinkedEffect): string {
  const to = `came in through an ingress and was linked to ${l.effect} effect ${l.id}`;
  switch (l.via) {
    case 'causationid':
      return `${to}: its causationid names that effect`;
    case 'reply-token':
      return `${to}: it carries the reply token ${l.token ?? ''} that effect's executor returned`;
    case 'echo':
      return `${to}: it echoes text that effect sent`;
  }
}

function row(link: ChainLink): string[] {
  const outcome = link.outcomes
    .map((o) =>
      o.kind === 'delivered'
        ? `→ ${o.agent}${o.note === undefined ? '' : ` (nothing emitted: ${o.note.text})`}`
        : o.kind === 'hold.released'
          ? `${o.outcome === 'deliver' ? 'approved' : 'rejected'} by ${o.agent ?? 'timeout'}`
          : o.error !== undefined
            ? `${o.kind} ${o.error.code}`
            : o.kind,
    )
    .join(' ');
  return [
    `hop ${link.hop}`,
    link.id,
    `${link.gated === 'effect' ? 'effect ' : ''}${link.type}`,
    link.agent,
    link.verdict.toUpperCase(),
    `${link.stage}${link.rule === null ? '' : `/${link.rule}`}`,
    `${link.reason}: ${link.detail}${outcome === '' ? '' : `  [${outcome}]`}`,
  ];
}
