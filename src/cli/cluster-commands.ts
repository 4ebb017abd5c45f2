import type { Command } from 'commander';
import { meshName, natsUrl } from './cluster-options.js';
import { clusterRemove } from './commands/cluster-remove.js';
import { createOutput } from './output.js';

/** The commands on a distributed mesh as a whole, through its NATS (docs/distributed.md). */
export function registerClusterCommands(program: Command, done: (code: number) => void): void {
  const cluster = program.command('cluster').description('a distributed mesh on NATS (docs/distributed.md)');
  cluster
    .command('remove')
    .argument('<mesh>', 'the mesh name, as its file says it (mesh:)', meshName)
    .requiredOption('--cluster <nats-url>', "the mesh's NATS", natsUrl)
    .option('--force', 'also when its stream still holds work not yet done (discarded)')
    .option('--json', 'print one JSON document')
    .description(
      "remove a stopped mesh's NATS state (its stream and lease bucket) for good; its ledger stays",
    )
    .action(async (mesh: string, o: { cluster: string; force?: boolean; json?: boolean }) =>
      done(await clusterRemove(mesh, o, createOutput(o.json === true))),
    );
}
