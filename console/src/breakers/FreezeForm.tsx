import { useState } from 'preact/hooks';
import { type ApiError, isApiError } from '../api/client.js';
import { useApi, useMayAct, viewerRefusal } from '../api/context.js';
import { ApiErrorNotice } from '../shell/ApiErrorNotice.js';

/** Freezes a subject by hand: the warden then holds everything about it for a pilot. */
export function FreezeForm({ onChanged }: { onChanged: () => void }) {
  const api = useApi();
  const mayAct = useMayAct();
  const [subject, setSubject] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string>();
  /** A subject no message was ever about, waiting for "Freeze anyway" (a typo freezes nothing real). */
  const [unheard, setUnheard] = useState<string>();

  const submit = async (e: Event) => {
    e.preventDefault();
    if (subject.trim() === '' || reason.trim() === '') {
      setError({ status: 0, code: 'REQUIRED', message: 'Both the subject and a reason are needed.' });
      return;
    }
    const target = subject.trim();
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      if (unheard !== target && !(await heardOf(target))) {
        setUnheard(target);
        return;
      }
      setUnheard(undefined);
      await api.post('/freeze', { subject: target, reason: reason.trim() });
      setDone(subject.trim());
      setSubject('');
      setReason('');
      onChanged();
    } catch (err) {
      setError(isApiError(err) ? err : { status: 0, code: 'CONSOLE', message: String(err) });
    } finally {
      setBusy(false);
    }
  };

  /** Whether the ledger has any message about `target`; a failed look is no reason to delay a freeze. */
  const heardOf = async (target: string): Promise<boolean> => {
    try {
      const found = await api.get<{ kind: string; results: unknown[] }>(
        `/search?q=${encodeURIComponent(target)}`,
      );
      return found.kind !== 'subject' || found.results.length > 0;
    } catch {
      return true;
    }
  };

  return (
    <form class="inline-form" onSubmit={submit} data-testid="freeze-form">
      <label>
        Subject
        <input
          value={subject}
          required
          placeholder="e.g. account:1234"
          onInput={(e) => setSubject(e.currentTarget.value)}
          data-testid="freeze-subject-input"
        />
      </label>
      <label>
        Reason
        <input
          value={reason}
          required
          maxLength={500}
          placeholder="e.g. suspected fraud, checking"
          onInput={(e) => setReason(e.currentTarget.value)}
          data-testid="freeze-reason-input"
        />
      </label>
      <button
        type="submit"
        class="action bad"
        disabled={busy || !mayAct}
        title={viewerRefusal(mayAct, 'freeze')}
        data-testid="freeze-button"
      >
        {unheard !== undefined && unheard === subject.trim() ? 'Freeze anyway' : 'Freeze'}
      </button>
      {unheard !== undefined && unheard === subject.trim() && (
        <p class="notice warning" role="alert" data-testid="freeze-unheard" data-subject={unheard}>
          No message has ever been about “{unheard}”: check its spelling (subjects look like{' '}
          <code>account:1234</code>, kind and id). Freezing it holds only messages about exactly “{unheard}”
          from now on. Press “Freeze anyway” if that is what you mean.
        </p>
      )}
      <ApiErrorNotice error={error} />
      {done !== undefined && (
        <p class="notice info" role="status" data-testid="freeze-done" data-subject={done}>
          {done} is frozen: everything for it is now held for a pilot. It is listed under “Frozen subjects”
          above.
        </p>
      )}
    </form>
  );
}
