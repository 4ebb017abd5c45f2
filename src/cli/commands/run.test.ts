import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../runtime/index.js';
import type { Output } from '../output.js';
import { printSummary } from './run.js';

/** An Output that keeps the lines `run` prints for people. */
function lines(): { out: Output; printed: string[] } {
  const printed: string[] = [];
  const out: Output = {
    json: false,
    line: (text = '') => printed.push(text),
    document: () => {},
    note: () => {},
    error: () => {},
    fail: () => {},
  };
  return { out, printed };
}

const counts = { admitted: 0, delivered: 0, denied: 0, held: 0, quarantined: 0 };

describe('run: the text summary', () => {
  it('names each drift alarm of the run, and who opened each breaker', () => {
    const summary: RunSummary = {
      messages: counts,
      effects: { executed: 0, denied: 0, held: 0, quarantined: 0, failed: 0 },
      breakers: [
        {
          id: 'optimizer-delta',
          key: 'optimizer',
          state: 'open',
          action: 'freeze',
          openedAt: '2026-01-02T03:04:05.000Z',
          closesAt: null,
          by: 'drift:optimizer-delta',
        },
      ],
      frozen: [],
      driftAlarms: [
        {
          monitor: 'scorer-v',
          agent: 'scorer@1.1.0',
          type: 'score.v1',
          field: '/v',
          metric: 'psi',
          score: 3.1,
          threshold: 0.2,
          action: 'alert',
        },
      ],
      deadLetters: 0,
      answered: { approved: 0, rejected: 0, timedOut: 0 },
      recovered: 0,
      predicateErrors: {},
      ledger: { entries: 3, head: 'sha256:x', heads: [{ partition: 0, size: 3, head: 'sha256:x' }] },
      policy: { mesh: 'm', digest: 'sha256:y' },
    };
    const { out, printed } = lines();
    printSummary(summary, out);
    expect(printed).toContain('drift alarm scorer-v: scorer@1.1.0 score.v1 /v psi 3.1 ≥ 0.2 (alert)');
    expect(printed).toContain('breaker optimizer-delta open for optimizer (freeze) by drift:optimizer-delta');
  });
});
