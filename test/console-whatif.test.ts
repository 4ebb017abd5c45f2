import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RETENTION_MESH, retentionConsole } from './retention-console.js';
import { REPO } from './run-cli.js';

const CANDIDATE = join(REPO, 'examples', 'retention', 'candidate.yaml');

// The console's "What if" view (docs/replay.md): a pilot uploads or pastes a candidate policy and
// reads what it would have changed on the recorded traffic, before anyone reloads it.
describe('the What if view', () => {
  const c = retentionConsole('console-whatif');
  const { testid } = c;

  it('shows what an uploaded tighter budget would have changed: the matrix, the change, the credits not issued', async () => {
    await testid('nav-whatif').click();
    await testid('whatif-view').waitFor();
    await testid('whatif-upload').setInputFiles(CANDIDATE);
    await expect.poll(() => testid('whatif-policy').inputValue()).toContain('max: 40');
    await testid('whatif-run').click();
    await testid('whatif-result').waitFor();
    expect(Number(await testid('whatif-result').getAttribute('data-changed'))).toBeGreaterThan(0);
    const cell = c.page.locator('[data-testid="whatif-matrix"] td[data-cell="deliver→deny"]');
    expect(Number(await cell.textContent())).toBeGreaterThan(0);
    const change = c.page.locator(
      '[data-testid="whatif-change"][data-subject="account:8841"][data-type="credit.issue"]',
    );
    const candidate = change.getByTestId('whatif-candidate');
    expect(await candidate.locator('[data-verdict]').getAttribute('data-verdict')).toBe('deny');
    expect(await candidate.getByTestId('whatif-reason').getAttribute('data-reason')).toBe('budget.exceeded');
    expect(await candidate.textContent()).toContain('credit-per-account');
    // When it was decided, as the rest of the console writes times, the ISO time on hover.
    const at = change.getByTestId('whatif-change-at').locator('time');
    expect(await at.getAttribute('datetime')).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect((await at.textContent())?.trim()).not.toBe('');
    const effect = c.page.locator('[data-testid="whatif-effects"] li[data-subject="account:8841"]');
    expect(await effect.textContent()).toContain('amount 25 EUR');
    // The loop breaker opens where the recording opened it: listed apart, not as news.
    expect(await testid('whatif-breakers').textContent()).not.toContain('account:8841');
    expect(await testid('whatif-breakers-same').textContent()).toContain('account:8841');
    await c.browser.shot('whatif-candidate');
  });

  it('says nothing changes for the policy in force, and names a bad candidate’s mistakes by line', async () => {
    await c.page.goto(`${c.up.url}/#/whatif`);
    await testid('whatif-policy').fill(readFileSync(RETENTION_MESH, 'utf8'));
    await testid('whatif-run').click();
    await expect.poll(() => testid('whatif-result').getAttribute('data-changed')).toBe('0');
    expect(await testid('whatif-summary').textContent()).toContain('recorded under');
    await testid('whatif-policy').fill('mesh: retention\nagents:\n  x: { version: 1 }\n');
    await testid('whatif-run').click();
    await testid('whatif-issues').waitFor();
    expect(await testid('whatif-issues').textContent()).toMatch(/candidate\.yaml:\d+:\d+/);
    expect(await testid('api-error').getAttribute('data-code')).toBe('MW_API_CANDIDATE_INVALID');
    expect(await testid('whatif-result').count()).toBe(0);
  });

  it("clears the previous run's results when Replay is pressed with nothing to replay", async () => {
    await c.page.goto(`${c.up.url}/#/whatif`);
    await testid('whatif-policy').fill(readFileSync(RETENTION_MESH, 'utf8'));
    await testid('whatif-run').click();
    await testid('whatif-result').waitFor();
    await testid('whatif-policy').fill('');
    await testid('whatif-run').click();
    await expect.poll(() => testid('api-error').getAttribute('data-code')).toBe('REQUIRED');
    expect(await testid('whatif-result').count()).toBe(0);
  });
});
