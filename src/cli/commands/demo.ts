import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Durability, MeshEvent, RunSummary } from '../../runtime/index.js';
import { cliError, EXIT } from '../errors.js';
import { displayPath, type Output, table } from '../output.js';
import { PACKAGE_ROOT } from '../paths.js';
import { copyMeshFolder } from '../scaffold.js';
import { printSummary, runMesh } from './run.js';

const MARKER = 'demo.json';

/** `demo retention`: runs examples/retention on its tickets and tells what happened, case by case. */
export async function demoRetention(
  opts: { data: string; json: boolean; durability?: Durability },
  out: Output,
  log: Logger,
): Promise<number> {
  const dir = resolve(opts.data);
  // The demo starts from an empty ledger each time, but only ever deletes a folder it made itself.
  if (existsSync(dir) && (await readdir(dir)).length > 0) {
    if (!existsSync(join(dir, MARKER))) {
      out.fail(cliError('MW_CLI_DIR_NOT_EMPTY', { dir: opts.data, what: 'non-demo content' }));
      return EXIT.usage;
    }
    await rm(dir, { recursive: true, force: true });
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(
    join(dir, MARKER),
    `${JSON.stringify({ demo: 'retention', note: 'made by meshwarden demo; safe to delete' })}\n`,
  );

  // Run a copy: Node does not strip types under node_modules, where an installed package lives.
  const example = join(dir, 'mesh');
  await copyMeshFolder(join(PACKAGE_ROOT, 'examples', 'retention'), example);
  const events: MeshEvent[] = [];
  if (!opts.json) {
    out.line(
      'The retention squad: sentiment scores tickets, churn predicts churn, discount credits accounts at',
    );
    out.line(
      "risk and e-mails them. Account 8841's contact address is the support inbox itself, so every e-mail",
    );
    out.line('to it comes back as a new ticket. Six tickets arrive; three lines of input are broken.\n');
  }
  const { code, summary } = await runMesh(
    {
      mesh: join(example, 'mesh.yaml'),
      input: join(example, 'tickets.jsonl'),
      data: dir,
      json: opts.json,
      ...(opts.durability === undefined ? {} : { durability: opts.durability }),
    },
    out,
    log,
    (opened) => opened.mesh.onEvent((event) => events.push(event)),
  );
  if (summary === undefined) return code;
  if (opts.json) {
    out.document({ ...summary, cases: caseIds(events) });
    return code;
  }
  tellStory(events, out);
  printSummary(summary, out);
  tellNext(events, summary, displayPath(dir), out);
  return code;
}

function tellStory(events: readonly MeshEvent[], out: Output): void {
  const bySubject = new Map<string, string[][]>();
  const rows = (subject: string) => bySubject.get(subject) ?? bySubject.set(subject, []).get(subject)!;
  // An execution is told right under the request it carries out, not where it finished in time.
  const requestRow = new Map<string, string[]>();
  for (const event of events) {
    if (event.type === 'decision') {
      const e = event.envelope;
      const subject = e?.subject ?? '(unparsed input)';
      const who = e === undefined ? (event.location ?? '') : e.source.replace(/^mesh:\/\/[^/]+\//, '');
      const what = e === undefined ? 'input' : event.gated === 'effect' ? `effect ${e.type}` : e.type;
      const echo = event.link === undefined ? '' : ` (echo of e-mail ${event.link.effectId.slice(-8)})`;
      const row = [
        `  hop ${e?.hop ?? '-'}`,
        `${who} → ${what}${echo}`,
        event.verdict.decision.toUpperCase(),
        // An admitted hop needs no sentence; every stop explains itself.
        event.verdict.decision === 'deliver'
          ? event.verdict.reason
          : `${event.verdict.reason}: ${event.verdict.detail}`,
      ];
      rows(subject).push(row);
      requestRow.set(event.msgId, row);
    } else if (event.type === 'effect-executed') {
      const list = rows(event.subject);
      const at = list.indexOf(requestRow.get(event.msgId) ?? []);
      const line = ['', `  ${event.effect} executed`, '', JSON.stringify(event.result ?? {})];
      list.splice(at < 0 ? list.length : at + 1, 0, line);
    } else if (event.type === 'dead-letter') {
      rows('(dead letters)').push(['', event.worker, 'DEAD', `${event.code}: ${event.message}`]);
    }
  }
  for (const [subject, lines] of bySubject) {
    out.line(subject);
    out.line(table(lines));
    out.line();
  }
}

function caseIds(
  events: readonly MeshEvent[],
): { id: string; subject: string; type: string; verdict: string }[] {
  return events.flatMap((e) =>
    e.type === 'decision'
      ? [
          {
            id: e.msgId,
            subject: e.envelope?.subject ?? '',
            type: e.envelope?.type ?? '',
            verdict: e.verdict.decision,
          },
        ]
      : [],
  );
}

function tellNext(events: readonly MeshEvent[], summary: RunSummary, dir: string, out: Output): void {
  const credits = events.filter(
    (e): e is Extract<MeshEvent, { type: 'effect-executed' }> =>
      e.type === 'effect-executed' && e.effect === 'credit.issue',
  );
  const lastLooping = credits.filter((c) => summary.frozen.includes(c.subject)).at(-1) ?? credits.at(-1);
  out.line();
  out.line('What next:');
  if (lastLooping !== undefined) {
    out.line(
      `  npx meshwarden why ${lastLooping.msgId} --data ${dir}      # why was this credit issued, hop by hop`,
    );
  }
  const root = events.find(
    (e) => e.type === 'decision' && e.envelope?.hop === 0 && e.envelope.subject === lastLooping?.subject,
  );
  if (root?.type === 'decision')
    out.line(`  npx meshwarden impact ${root.msgId} --data ${dir}   # everything that ticket caused`);
  out.line(`  npx meshwarden audit verify --data ${dir}                 # check the ledger's hash chain`);
}
