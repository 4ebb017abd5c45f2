import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';

// For tests only (excluded from the build): the runtime tests' shared two-agent mesh.
export const log = pino({ level: 'silent' });
export const schema = (props: Record<string, unknown>) =>
  JSON.stringify({
    type: 'object',
    properties: props,
    required: Object.keys(props),
    additionalProperties: false,
  });

/** A two-agent mesh in a temp folder; `flaky` throws on its first `failures` tries of every message. */
export function writeMesh(failures: number, extra: readonly string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-runtime-'));
  mkdirSync(join(dir, 'contracts'));
  mkdirSync(join(dir, 'agents'));
  writeFileSync(
    join(dir, 'mesh.yaml'),
    [
      'mesh: t',
      'agents:',
      '  flaky: { version: 1.0.0, module: ./agents/flaky.mjs, consumes: [job.queued.v1], emits: [job.done.v1], effects: [notify.send] }',
      '  sink: { version: 1.0.0, module: ./agents/sink.mjs, consumes: [job.done.v1] }',
      'effects:',
      '  notify.send: {}',
      'ingress:',
      '  api: { emits: [job.queued.v1] }',
      ...extra,
    ].join('\n'),
  );
  writeFileSync(join(dir, 'contracts', 'job.queued.v1.json'), schema({ n: { type: 'integer' } }));
  writeFileSync(join(dir, 'contracts', 'job.done.v1.json'), schema({ n: { type: 'integer' } }));
  writeFileSync(join(dir, 'contracts', 'notify.send.json'), schema({ n: { type: 'integer' } }));
  writeFileSync(
    join(dir, 'agents', 'flaky.mjs'),
    `export default { handle(msg, ctx) {
       ctx.emit('job.done.v1', { n: msg.data.n });
       if (ctx.attempt <= ${failures}) throw new Error('flaky failure ' + ctx.attempt);
       ctx.effect('notify.send', { n: msg.data.n });
     } };`,
  );
  writeFileSync(join(dir, 'agents', 'sink.mjs'), 'export default { handle() {} };');
  return dir;
}
