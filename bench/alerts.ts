// Whether an `alerts:` route costs the hot path: the bench pipeline with nobody listening to mesh
// events (as `run` with no console), without and with an alerts route, in one run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createAlertSinks } from '../dist/interop/index.js';
import { openMesh } from '../dist/runtime/index.js';

const files = {
  without: new URL('./mesh/mesh.yaml', import.meta.url).pathname,
  with: new URL('./mesh/mesh-alerts.yaml', import.meta.url).pathname,
} as const;

/** Guarded hops/s for `pipelines` three-agent pipelines, injected 1,000 at a time, nobody listening. */
export async function quietHops(pipelines: number, alerts: keyof typeof files): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'meshwarden-bench-alerts-'));
  try {
    const opened = await openMesh({
      meshFile: files[alerts],
      dataDir: dir,
      log: pino({ level: 'silent' }),
      alertSinks: (specs) => createAlertSinks(specs, { env: {} }),
    });
    if (!opened.ok) throw new Error(`bench mesh failed to open: ${JSON.stringify(opened)}`);
    await using o = opened.opened;
    const started = performance.now();
    for (let i = 0; i < pipelines; i += 1_000) {
      const batch = Array.from({ length: Math.min(1_000, pipelines - i) }, (_, j) =>
        o.mesh.inject('feed', {
          type: 'step.one.v1',
          subject: `entity:${(i + j) % 1_000}`,
          data: { value: i + j },
        }),
      );
      await Promise.all(batch);
    }
    await o.mesh.idle();
    await o.ledger.flush();
    const seconds = (performance.now() - started) / 1_000;
    return Math.round(o.mesh.counts().messages.admitted / seconds);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Alternates the two meshes `rounds` times (the machine is shared): the best of each. */
export async function alertsCost(pipelines: number, rounds: number) {
  const best = { without: 0, with: 0 };
  for (let r = 0; r < rounds; r++)
    for (const k of ['without', 'with'] as const) best[k] = Math.max(best[k], await quietHops(pipelines, k));
  return { pipelines, withoutAlerts: best.without, withAlerts: best.with };
}
