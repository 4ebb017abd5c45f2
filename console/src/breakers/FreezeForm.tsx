import { useState } from 'preact/hooks';
import { type ApiError, isApiError } from '../api/client.js';
import { useApi } from '../api/context.js';
import { ApiErrorNotice } from '../shell/ApiErrorNotice.js';

/** Freezes a subject by hand: the warden then holds everything about it for a pilot. */
export function FreezeForm({ onChanged }: { onChanged: () => void }) {
  const api = useApi();
  const [subject, setSubject] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string>();

  const submit = async (e: Event) => {
    e.preventDefault();
    if (subject.trim() === '' || reason.trim() === '') {
      setError({ status: 0, code: 'REQUIRED', message: 'Both the subject and a reason are needed.' });
      return;
    }
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      await api.post('/freeze', { subject: subject.trim(), reason: reason.trim() });
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
      <button type="submit" class="action bad" disabled={busy} data-testid="freeze-button">
        Freeze
      </button>
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
