import { Command, CommanderError, Option } from 'commander';
import { DURABILITIES, type Durability, errorText, isMeshwardenError } from '../runtime/index.js';
import { DEFAULT_URL } from './api-client.js';
import { registerAuditCommands } from './audit-commands.js';
import { registerClusterCommands } from './cluster-commands.js';
import { natsUrlProblem } from './cluster-options.js';
import { demoRetention } from './commands/demo.js';
import { drift } from './commands/drift.js';
import { init } from './commands/init.js';
import { impact, type LineagePlace, lineageOptions, why } from './commands/lineage.js';
import { mcp } from './commands/mcp.js';
import { checkPolicy } from './commands/policy-check.js';
import { replay } from './commands/replay.js';
import { runMesh } from './commands/run.js';
import { up } from './commands/up.js';
import { environmentHelp } from './environment-help.js';
import { EXIT } from './errors.js';
import { exitOnceWritten } from './exit.js';
import { DEFAULT_DATA, ledgerOption } from './ledger-options.js';
import { createRootLogger } from './log.js';
import { defaultNode } from './node-id.js';
import { optionTakenAsValue } from './option-values.js';
import { createOutput, terminalSafe } from './output.js';
import { registerPilotCommands } from './pilot-commands.js';
import { stdoutFailure, watchOutputStreams } from './stdout.js';

// A reader closing the pipe (`| head`) is not an error: see stdout.ts.
watchOutputStreams();
const { log, problem: logProblem } = createRootLogger();
const cliLog = log.child({ layer: 'cli' });
let exitCode: number = EXIT.ok;
const done = (code: number) => {
  exitCode = code;
};
/** How Commander starts a usage error's text (and `usage` does, to say it the same way). */
const COMMANDER_ERROR = /^error: /;

/** The command whose action runs: its usage errors end with its own help hint (hintAfterErrors). */
let running: Command | undefined;
/**
 * A usage error found in an action, said as Commander says its own (`error MW_CLI_USAGE: …`, by
 * hintAfterErrors), then `see meshwarden <command> --help`; exit 2 (with --json, the MW_CLI_USAGE
 * document too).
 */
const usage = (message: string): never =>
  (running ?? program).error(`error: ${message}`, { exitCode: EXIT.usage });

/** `--durability`: overrides the mesh file's `ledger.durability` (docs/cli.md). */
const durabilityOption = () =>
  new Option(
    '--durability <mode>',
    "how far each ledger commit is forced to disk: full survives a power loss, normal a crash of the process (default: the mesh file's ledger.durability, else full)",
  ).choices(DURABILITIES);
const durabilityOf = (o: { durability?: Durability }) =>
  o.durability === undefined ? {} : { durability: o.durability };

/** `--cluster` and `--node`: join a mesh's cluster on NATS as one node (docs/distributed.md). */
const clusterOption = () =>
  new Option(
    '--cluster <nats-url>',
    'join the mesh as one node of a cluster on NATS JetStream (needs --ledger postgres://…, shared by every node)',
  );
const nodeOption = () =>
  new Option(
    '--node <id>',
    "this node's id in the cluster, unique in the mesh (default: host name and port, or pid)",
  );
const clusterOf = (o: { cluster?: string; node?: string }, fallback: string) => {
  if (o.cluster === undefined) {
    if (o.node !== undefined) usage('--node names a node of a cluster: it needs --cluster');
    return {};
  }
  const problem = natsUrlProblem(o.cluster);
  if (problem !== undefined) usage(problem);
  return { cluster: { servers: o.cluster, node: o.node ?? defaultNode(fallback) } };
};

const program = new Command('meshwarden')
  .description(
    'The control layer between AI agents: every message and side effect gated, guarded and recorded.',
  )
  .version('0.1.0')
  .exitOverride()
  .hook('preAction', (_program, action) => {
    running = action;
    const problem = logProblem ?? optionTakenAsValue(action);
    if (problem !== undefined) usage(problem);
  });

program
  .command('init')
  .argument('[dir]', 'folder to scaffold', '.')
  .option('--json', 'print one JSON document')
  .description('scaffold a mesh: mesh.yaml, contracts/, agents/, effects/')
  .action(async (dir: string, o: { json?: boolean }) => done(await init(dir, createOutput(o.json === true))));

program
  .command('policy')
  .description('policy tools')
  .command('check')
  .argument('[mesh]', 'the mesh file', 'mesh.yaml')
  .option(
    '--against <old-mesh>',
    "an older mesh file: refuse a breaking change to a type's contract under the same major version",
  )
  .option(
    '--data <dir>',
    'also validate the recorded, delivered payloads in this data directory against the new contracts',
  )
  .addOption(ledgerOption())
  .option('--json', 'print one JSON document')
  .description('validate a mesh file; exit 1 listing every mistake as file:line:col')
  .action(async (file: string, o: { against?: string; data?: string; ledger?: string; json?: boolean }) => {
    if (o.ledger !== undefined && o.data === undefined)
      usage('--ledger names where --data reads: it needs --data');
    const data =
      o.data === undefined
        ? {}
        : { data: { data: o.data, ...(o.ledger === undefined ? {} : { ledger: o.ledger }) } };
    const compat = { ...(o.against === undefined ? {} : { against: o.against }), ...data };
    done(await checkPolicy(file, createOutput(o.json === true), compat));
  });

program
  .command('run')
  .argument('[mesh]', 'the mesh file', 'mesh.yaml')
  .option(
    '--input <file>',
    'JSON Lines, one root message a line: {"source", "type", "subject", "data"} (default: messages.jsonl beside the mesh file, if there is one; not with --cluster)',
  )
  .option('--data <dir>', 'data directory (ledger)', DEFAULT_DATA)
  .addOption(ledgerOption())
  .addOption(durabilityOption())
  .addOption(clusterOption())
  .addOption(nodeOption())
  .option('--json', 'print the summary as one JSON document')
  .description('feed messages, run to quiescence, summarize (resumes unfinished work first)')
  .addHelpText('after', environmentHelp('run'))
  .action(
    async (
      mesh: string,
      o: {
        input?: string;
        data: string;
        ledger?: string;
        durability?: Durability;
        cluster?: string;
        node?: string;
        json?: boolean;
      },
    ) => {
      const opts = {
        mesh,
        data: o.data,
        json: o.json === true,
        ...(o.input === undefined ? {} : { input: o.input }),
        ...(o.ledger === undefined ? {} : { ledger: o.ledger }),
        ...durabilityOf(o),
        ...clusterOf(o, `run-${process.pid}`),
      };
      done((await runMesh(opts, createOutput(opts.json), log)).code);
    },
  );

program
  .command('up')
  .argument('[mesh]', 'the mesh file', 'mesh.yaml')
  .option('--port <port>', 'port for the API and the console (0 picks a free one)', '7070')
  .option('--host <host>', 'address to bind; anything but loopback exposes the API', '127.0.0.1')
  .option('--data <dir>', 'data directory (ledger, tokens)', DEFAULT_DATA)
  .option('--input <file>', 'also feed these JSON Lines messages at start')
  .option('--rate-limit <n>', 'API calls per token a minute', '600')
  .addOption(ledgerOption())
  .addOption(durabilityOption())
  .addOption(clusterOption())
  .addOption(nodeOption())
  .option('--json', 'print the URLs (and a first token) as one JSON document')
  .description('run the mesh with the HTTP API and the web console until Ctrl-C')
  .addHelpText('after', environmentHelp('up'))
  .action(
    async (
      mesh: string,
      o: {
        port: string;
        host: string;
        data: string;
        input?: string;
        rateLimit: string;
        ledger?: string;
        durability?: Durability;
        cluster?: string;
        node?: string;
        json?: boolean;
      },
    ) => {
      const port = Number(o.port);
      const rateLimit = Number(o.rateLimit);
      if (!Number.isInteger(port) || port < 0 || port > 65_535)
        usage(`--port must be a port number, not "${o.port}"`);
      if (!Number.isInteger(rateLimit) || rateLimit < 1)
        usage(`--rate-limit must be a positive integer, not "${o.rateLimit}"`);
      const opts = {
        mesh,
        data: o.data,
        port,
        host: o.host,
        rateLimit,
        json: o.json === true,
        ...(o.input === undefined ? {} : { input: o.input }),
        ...(o.ledger === undefined ? {} : { ledger: o.ledger }),
        ...durabilityOf(o),
        ...clusterOf(o, port === 0 ? `pid${process.pid}` : String(port)),
      };
      done(await up(opts, createOutput(opts.json), log));
    },
  );

program
  .command('mcp')
  .description("serve the running mesh's MCP tools over stdio, for MCP clients that spawn their servers")
  .addOption(
    new Option('--url <url>', 'the mesh: the address meshwarden up printed')
      .env('MESHWARDEN_URL')
      .default(DEFAULT_URL),
  )
  .addOption(
    new Option('--token <token>', 'your API token (sending needs role partner or pilot)').env(
      'MESHWARDEN_TOKEN',
    ),
  )
  .action(async (o: { url: string; token?: string }) => {
    done(await mcp(o, createOutput(false), log));
  });

program
  .command('demo')
  .argument('<scenario>', 'the scenario: retention')
  .option('--data <dir>', 'data directory for the demo ledger', `${DEFAULT_DATA}/demo`)
  .addOption(durabilityOption())
  .option('--json', 'print the summary as one JSON document')
  .description('run a shipped scenario and tell it as a story')
  .action(async (scenario: string, o: { data: string; durability?: Durability; json?: boolean }) => {
    if (scenario !== 'retention') usage(`unknown scenario "${scenario}" (try: retention)`);
    const opts = { data: o.data, json: o.json === true, ...durabilityOf(o) };
    done(await demoRetention(opts, createOutput(opts.json), log));
  });

lineageOptions(
  program
    .command('why')
    .argument('<message-id>')
    .option('--data <dir>', 'data directory (ledger)', DEFAULT_DATA)
    .addOption(ledgerOption()),
)
  .option('--json', 'print one JSON document')
  .description('the causal chain behind a message, root first, with every verdict')
  .action(async (id: string, o: LineagePlace & { json?: boolean }) =>
    done(await why(id, o, createOutput(o.json === true))),
  );

lineageOptions(
  program
    .command('impact')
    .argument('<target>', 'a message id, or agent@version')
    .option('--data <dir>', 'data directory (ledger)', DEFAULT_DATA)
    .addOption(ledgerOption()),
)
  .option('--json', 'print one JSON document')
  .description('everything that followed a message, or the blast radius of an agent version')
  .action(async (target: string, o: LineagePlace & { json?: boolean }) =>
    done(await impact(target, o, createOutput(o.json === true))),
  );

program
  .command('replay')
  .requiredOption('--policy <file>', 'the candidate mesh file (the same mesh)')
  .option('--data <dir>', 'data directory (ledger)', DEFAULT_DATA)
  .addOption(ledgerOption())
  .option('--from <time>', 'replay entries from this time (ISO 8601 or ms), with a fresh state there')
  .option('--to <time>', 'replay entries up to this time (ISO 8601 or ms)')
  .option('--json', 'print one JSON document')
  .description('what a candidate policy would have decided on the recorded traffic (exit 0 whatever changed)')
  .action(
    async (o: {
      policy: string;
      data: string;
      ledger?: string;
      from?: string;
      to?: string;
      json?: boolean;
    }) => done(await replay(o, createOutput(o.json === true))),
  );

program
  .command('drift')
  .argument('[agent]', 'an agent, or agent@version (compared with the version before it)')
  .option('--data <dir>', 'data directory (ledger)', DEFAULT_DATA)
  .addOption(ledgerOption())
  .option('--threshold <score>', 'score at or above which a field drifted (default 0.2)')
  .option('--min-samples <n>', 'values needed on each side before a field can drift (default 30)')
  .option('--json', 'print one JSON document')
  .description('output drift of each agent version against the one before it, from the ledger')
  .action(
    async (
      agent: string | undefined,
      o: { data: string; ledger?: string; json?: boolean; threshold?: string; minSamples?: string },
    ) => {
      const threshold = o.threshold === undefined ? undefined : Number(o.threshold);
      if (threshold !== undefined && !(threshold > 0))
        usage(`--threshold must be a number above 0, not "${o.threshold}"`);
      const minSamples = o.minSamples === undefined ? undefined : Number(o.minSamples);
      if (minSamples !== undefined && !(Number.isInteger(minSamples) && minSamples >= 1))
        usage(`--min-samples must be a whole number from 1, not "${o.minSamples}"`);
      const opts = {
        data: o.data,
        ...(o.ledger === undefined ? {} : { ledger: o.ledger }),
        ...(threshold === undefined ? {} : { threshold }),
        ...(minSamples === undefined ? {} : { minSamples }),
      };
      done(await drift(agent, opts, createOutput(o.json === true)));
    },
  );

registerAuditCommands(program, done);
registerClusterCommands(program, done);
registerPilotCommands(program, done);
hintAfterErrors(program);

/**
 * A usage error is the error and a one-line hint naming the command's own help, not the whole
 * program's help (which buried the error, and came with --json too). Its line names its code, as
 * every other error's does (`error MW_CLI_USAGE: unknown option '--leger'`).
 */
function hintAfterErrors(command: Command, path = command.name()): void {
  command.showHelpAfterError(`see ${path} --help`);
  command.configureOutput({
    // What Commander quotes back (an option as typed) goes to a terminal: made safe, as every error is.
    outputError: (text, write) => write(terminalSafe(text.replace(COMMANDER_ERROR, 'error MW_CLI_USAGE: '))),
  });
  for (const sub of command.commands) hintAfterErrors(sub, `${path} ${sub.name()}`);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version are successes; every other parse problem is a usage error. Commander has
    // already said what is wrong on stderr; with --json stdout still gets its one document.
    exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (exitCode === EXIT.usage && process.argv.includes('--json')) {
      const message = err.message.replace(COMMANDER_ERROR, '');
      createOutput(true).document({ ok: false, error: { code: 'MW_CLI_USAGE', message } });
    }
  } else if (isMeshwardenError(err)) {
    // A typed error no command caught (a ledger that closed under it) is still one plain line.
    createOutput(process.argv.includes('--json')).fail(err);
    exitCode = EXIT.failed;
  } else {
    cliLog.fatal({ err }, 'meshwarden failed');
    process.stderr.write(`meshwarden: ${terminalSafe(errorText(err))}\n`);
    exitCode = EXIT.failed;
  }
}
// A failed write is reported by an 'error' event a tick later: let the last one arrive.
await new Promise((resolve) => setImmediate(resolve));
const lost = stdoutFailure();
if (lost !== undefined) {
  process.stderr.write(`meshwarden: cannot write the output: ${errorText(lost)}\n`);
  if (exitCode === EXIT.ok) exitCode = EXIT.failed;
}
log.flush();
process.exitCode = exitCode;
await exitOnceWritten();
