import { useState } from 'preact/hooks';
import { type ApiError, isApiError } from '../api/client.js';
import { useApi, useMayAct, viewerRefusal } from '../api/context.js';
import type { ReplayReport } from '../api/types.js';
import { Term } from '../glossary/Term.js';
import { ApiErrorNotice } from '../shell/ApiErrorNotice.js';
import { ReplayResult } from './ReplayResult.js';

/**
 * "What if": a pilot pastes or uploads a candidate mesh file and sees what it would have decided on
 * the traffic recorded so far (POST /replay), before anyone reloads it. Nothing is put in force.
 */
export function WhatIfView() {
  const api = useApi();
  const mayAct = useMayAct();
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [report, setReport] = useState<ReplayReport>();

  const upload = async (e: Event) => {
    const file = (e.currentTarget as HTMLInputElement).files?.[0];
    if (file !== undefined) setText(await file.text());
  };

  const run = async (e: Event) => {
    e.preventDefault();
    if (text.trim() === '') {
      // The previous run's results would read as this one's: cleared.
      setReport(undefined);
      setError({ status: 0, code: 'REQUIRED', message: 'Paste or upload a candidate mesh file first.' });
      return;
    }
    setBusy(true);
    setError(undefined);
    setReport(undefined);
    try {
      setReport(await api.post<ReplayReport>('/replay', { policy: text }));
    } catch (err) {
      setReport(undefined);
      setError(isApiError(err) ? err : { status: 0, code: 'CONSOLE', message: String(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="view" data-testid="whatif-view">
      <header class="view-header">
        <h2>What if: try a policy on recorded traffic</h2>
        <p class="hint">
          Paste or upload a changed mesh file. The warden decides every recorded message again under it, with
          the same times and a fresh state, and shows what would have gone differently: which verdicts change,
          what would then not have happened, which <Term id="side-effect">effects</Term> would not have run,
          and which <Term id="breaker">breakers</Term> would have opened. Agents are not run again. Nothing is
          put in force: reloading the policy is a separate step.
        </p>
      </header>
      <form class="whatif-form" onSubmit={run} data-testid="whatif-form">
        <label>
          Candidate mesh file (YAML)
          <textarea
            value={text}
            rows={14}
            spellcheck={false}
            placeholder={'mesh: retention\nagents: …'}
            onInput={(e) => setText(e.currentTarget.value)}
            data-testid="whatif-policy"
          />
        </label>
        <div class="actions">
          <label class="upload">
            Or upload a file{' '}
            <input type="file" accept=".yaml,.yml,text/yaml" onChange={upload} data-testid="whatif-upload" />
          </label>
          <button
            type="submit"
            class="action good"
            disabled={busy || !mayAct}
            title={viewerRefusal(mayAct, 'replay')}
            data-testid="whatif-run"
          >
            {busy ? 'Replaying…' : 'Replay recorded traffic'}
          </button>
        </div>
      </form>
      <ApiErrorNotice error={error} />
      {error?.issues !== undefined && (
        <ul class="issues" data-testid="whatif-issues">
          {error.issues.map((i) => (
            <li key={`${i.location}${i.code}`}>
              <span class="code">{i.location}</span> {i.message} <span class="code small">({i.code})</span>
            </li>
          ))}
        </ul>
      )}
      {report !== undefined && <ReplayResult report={report} />}
    </section>
  );
}
