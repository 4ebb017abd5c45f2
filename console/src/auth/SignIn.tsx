import { useState } from 'preact/hooks';
import { tokenIn } from './pasted-token.js';

export type Notice = { text: string; tone: 'error' | 'info' };
type Props = { notice: Notice | null; onToken: (token: string) => void };

/** Asks for a token when the address brought none, or when the warden refused the last one. */
export function SignIn({ notice, onToken }: Props) {
  const [value, setValue] = useState('');
  return (
    <main class="sign-in">
      <h1>Meshwarden console</h1>
      <p>
        Paste your token: a pilot's or an admin's to act, a viewer's to look. <code>meshwarden up</code>{' '}
        prints the console address with the admin token in it; opening that address signs you in directly.
      </p>
      {notice !== null && (
        <p class={`notice ${notice.tone}`} role="alert" data-testid="sign-in-notice">
          {notice.text}
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const token = tokenIn(value);
          if (token !== '') onToken(token);
        }}
      >
        <label>
          Token
          <input
            type="password"
            autocomplete="off"
            required
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
            data-testid="token-input"
          />
        </label>
        <button type="submit" class="primary" data-testid="sign-in-button">
          Sign in
        </button>
      </form>
    </main>
  );
}
