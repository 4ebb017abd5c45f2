import { type Command, Option } from 'commander';
import { isMeshwardenError } from '../runtime/index.js';
import { type ApiClient, createApiClient, DEFAULT_URL, reportFailure } from './api-client.js';
import { listApprovals, releaseHold } from './commands/approvals.js';
import { listBreakers, resetBreaker } from './commands/breakers.js';
import { freeze, unfreeze } from './commands/freeze.js';
import { send } from './commands/send.js';
import { cliError } from './errors.js';
import { createOutput, type Output } from './output.js';

type ApiFlags = { url: string; token?: string; json?: boolean };
type ActFlags = ApiFlags & { reason?: string };
type Needed = { option: string; value: string | undefined; hint: string };

const REASON_HINT = "say why in a sentence; the ledger records it with your token's name";

/**
 * The pilot commands: approvals, breakers, freeze, unfreeze and send. They talk only to the HTTP API
 * of a running `meshwarden up` (docs/api.md), like the console does.
 */
export function registerPilotCommands(program: Command, done: (code: number) => void): void {
  const approvals = program
    .command('approvals')
    .description('messages held for a pilot: list, approve, reject');
  withApiOptions(approvals.command('list'))
    .description('what waits for a pilot: id, type, subject, rule, reason, held since, timeout')
    .action(async (o: ApiFlags, cmd: Command) => done(await withApi(cmd, o, [], listApprovals)));
  for (const action of ['approve', 'reject'] as const) {
    withActOptions(
      approvals.command(action).argument('<id>', 'the held message id (approvals list shows it)'),
    )
      .description(
        action === 'approve'
          ? 'deliver a held message (or execute the held effect), recorded with your reason'
          : 'drop a held message, recorded with your reason',
      )
      .action(async (id: string, o: ActFlags, cmd: Command) =>
        done(
          await withApi(cmd, o, [needReason(o)], (api, out) => releaseHold(api, action, id, o.reason!, out)),
        ),
      );
  }

  const breakers = program.command('breakers').description('open breakers and frozen subjects: list, reset');
  withApiOptions(breakers.command('list'))
    .description('open breakers (id, key, action, opened, by) and frozen subjects')
    .action(async (o: ApiFlags, cmd: Command) => done(await withApi(cmd, o, [], listBreakers)));
  withActOptions(
    breakers
      .command('reset')
      .argument('<id>', 'the breaker id: a policy breaker, loop or pilot')
      .argument('[key]', 'the key it is open for (a subject); optional when it is open for one key only'),
  )
    .description('close an open breaker and clear its count, recorded with your reason')
    .action(async (id: string, key: string | undefined, o: ActFlags, cmd: Command) =>
      done(await withApi(cmd, o, [needReason(o)], (api, out) => resetBreaker(api, id, key, o.reason!, out))),
    );

  for (const [name, act] of [
    ['freeze', freeze],
    ['unfreeze', unfreeze],
  ] as const) {
    withActOptions(program.command(name).argument('<subject>', 'the entity, e.g. account:8841'))
      .description(
        name === 'freeze'
          ? 'hold everything for a subject until a pilot unfreezes it'
          : 'close every freeze on a subject (loop guard, pilot, freezing breakers); held messages stay held',
      )
      .action(async (subject: string, o: ActFlags, cmd: Command) =>
        done(await withApi(cmd, o, [needReason(o)], (api, out) => act(api, subject, o.reason!, out))),
      );
  }

  withApiOptions(
    program
      .command('send')
      .option('--type <type>', 'the message type (required), e.g. ticket.opened.v1')
      .option('--subject <subject>', 'the entity it is about (required), e.g. account:8841')
      .option('--data <json>', 'the payload as JSON text (required), e.g. \'{"text": "hello"}\'')
      .option('--to <agent>', 'address one agent (the envelope target) instead of every consumer')
      .option('--ingress <name>', 'the ingress it enters through; optional when only one may emit the type'),
  )
    .description('send a root message into a running mesh; exit 1 when the gate denies or quarantines it')
    .action(
      async (
        o: ApiFlags & { type?: string; to?: string; subject?: string; data?: string; ingress?: string },
        cmd: Command,
      ) =>
        done(
          await withApi(
            cmd,
            o,
            [
              { option: '--type', value: o.type, hint: 'the message type, e.g. --type ticket.opened.v1' },
              {
                option: '--subject',
                value: o.subject,
                hint: 'the entity it is about, e.g. --subject account:8841',
              },
              {
                option: '--data',
                value: o.data,
                hint: 'the payload as JSON text, e.g. --data \'{"text": "hi"}\'',
              },
            ],
            (api, out) =>
              send(
                api,
                { type: o.type!, subject: o.subject!, data: o.data!, to: o.to, ingress: o.ingress },
                out,
              ),
          ),
        ),
    );
}

/** `meshwarden approvals approve`: the command's name under its parents'. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function withApiOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--url <url>', 'the mesh: the address meshwarden up printed')
        .env('MESHWARDEN_URL')
        .default(DEFAULT_URL),
    )
    .addOption(
      new Option('--token <token>', 'your API token (acting needs role pilot)').env('MESHWARDEN_TOKEN'),
    )
    .option('--json', 'print one JSON document');
}

function withActOptions(cmd: Command): Command {
  return withApiOptions(cmd).option(
    '--reason <text>',
    'why (required): recorded in the ledger with your name',
  );
}

function needReason(o: ActFlags): Needed {
  return { option: '--reason', value: o.reason, hint: REASON_HINT };
}

/**
 * Checks what the command needs (usage errors, exit 2, with the same hint line as Commander's own),
 * then runs it with a client for the mesh.
 */
async function withApi(
  cmd: Command,
  o: ApiFlags,
  needed: readonly Needed[],
  run: (api: ApiClient, out: Output) => Promise<number>,
): Promise<number> {
  const out = createOutput(o.json === true);
  const missing = needed.find((n) => n.value === undefined || n.value.trim() === '');
  if (missing !== undefined) {
    const code = reportFailure(
      cliError('MW_CLI_MISSING_OPTION', { option: missing.option, hint: missing.hint }),
      out,
    );
    out.note(`see ${commandPath(cmd)} --help`);
    return code;
  }
  const api = createApiClient(o);
  if (isMeshwardenError(api)) return reportFailure(api, out);
  return run(api, out);
}
