import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { type ApiError, isApiError } from '../api/client.js';
import { useMayAct, viewerRefusal } from '../api/context.js';
import { ApiErrorNotice } from './ApiErrorNotice.js';

type Props = {
  /** The button's word, e.g. "Approve". */
  label: string;
  tone: 'good' | 'bad' | 'neutral';
  testid: string;
  /** What the reason field asks, e.g. "Why approve this credit?". */
  question: string;
  act: (reason: string) => Promise<unknown>;
  onDone?: () => void;
  /** What the pilot must know before confirming (shown above the reason field). */
  warning?: ComponentChildren;
  /** True while what the warning needs is not known yet: confirming waits for it. */
  blocked?: boolean;
  /** Told when the form opens (true) and when it closes (false): a card may go while it is open. */
  onOpenChange?: (open: boolean) => void;
  /** The reason field's example (default: "e.g. checked with finance"). */
  example?: string;
};

/**
 * A pilot action that needs a reason: the button opens a small inline form, the reason is
 * required, and the warden's refusal is shown right there.
 */
export function ReasonedAction(props: Props) {
  const { label, tone, testid, question, act, onDone, warning, blocked, onOpenChange, example } = props;
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const input = useRef<HTMLInputElement>(null);
  const mayAct = useMayAct();
  useEffect(() => {
    if (open) input.current?.focus();
    onOpenChange?.(open);
  }, [open]);

  if (!open) {
    // A viewer's token would be refused (MW_API_FORBIDDEN) only after typing a reason: say so now.
    return (
      <button
        type="button"
        class={`action ${tone}`}
        data-testid={testid}
        disabled={!mayAct}
        title={viewerRefusal(mayAct, label.toLowerCase())}
        onClick={() => setOpen(true)}
      >
        {label}
      </button>
    );
  }

  const submit = async (e: Event) => {
    e.preventDefault();
    if (blocked === true) return;
    const text = reason.trim();
    if (text === '') {
      setError({
        status: 0,
        code: 'REASON_REQUIRED',
        message: 'Please write a reason: it goes into the ledger.',
      });
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await act(text);
      setOpen(false);
      setReason('');
      onDone?.();
    } catch (err) {
      setError(isApiError(err) ? err : { status: 0, code: 'CONSOLE', message: String(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="reason-form" onSubmit={submit} data-testid="reason-form">
      {warning}
      <label>
        {question}
        <input
          type="text"
          required
          maxLength={500}
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
          placeholder={example ?? 'e.g. checked with finance'}
          data-testid="reason-input"
          ref={input}
        />
      </label>
      <button
        type="submit"
        class={`action ${tone}`}
        disabled={busy || blocked === true}
        data-testid="confirm-button"
      >
        {label}
      </button>
      <button type="button" class="action neutral" onClick={() => setOpen(false)} data-testid="cancel-button">
        Cancel
      </button>
      <ApiErrorNotice error={error} />
    </form>
  );
}
