import type { Command } from 'commander';
import { auditCheckpoint, auditExport, auditVerify } from './commands/audit.js';
import { DEFAULT_DATA, ledgerOption } from './ledger-options.js';
import { createOutput } from './output.js';

/** `audit verify`, `audit checkpoint` and `audit export`: the ledger's integrity (docs/ledger.md). */
export function registerAuditCommands(program: Command, done: (code: number) => void): void {
  const audit = program.command('audit').description('ledger integrity');
  audit
    .command('verify')
    .option('--data <dir>', 'data directory (ledger)', DEFAULT_DATA)
    .addOption(ledgerOption())
    .option('--checkpoint <file>', 'also verify against an exported checkpoint')
    .option('--json', 'print one JSON document')
    .description('exit 0 when the ledger is intact, 1 naming the first bad entry')
    .action(async (o: { data: string; ledger?: string; checkpoint?: string; json?: boolean }) =>
      done(await auditVerify(o, createOutput(o.json === true))),
    );
  audit
    .command('checkpoint')
    .option('--data <dir>', 'data directory (ledger)', DEFAULT_DATA)
    .addOption(ledgerOption())
    .option('--out <file>', 'also write the checkpoint to a file')
    .description('sign the ledger heads; keep the printed checkpoint outside the data directory')
    .action(async (o: { data: string; ledger?: string; out?: string }) =>
      done(await auditCheckpoint(o, createOutput(false))),
    );
  audit
    .command('export')
    .option('--data <dir>', 'data directory (ledger)', DEFAULT_DATA)
    .addOption(ledgerOption())
    .option('--out <file>', 'write to a file instead of stdout')
    .description('every ledger entry as JSON Lines')
    .action(async (o: { data: string; ledger?: string; out?: string }) =>
      done(await auditExport(o, createOutput(false))),
    );
}
