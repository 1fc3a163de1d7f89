import { useEffect, useId, useState } from 'react';
import type { FormEvent } from 'react';
import { ApiClient } from '../api/client.ts';
import type { ConsoleSessionView } from '@lockgate/api';
import { Refusal } from '../ui/refusal.tsx';

/**
 * Sign in with a token (kept in session storage, never in a URL), or with the one-time code of
 * the sign-in link printed at the server's first start (`/sign-in#code=…`): the code is read
 * from the fragment, removed from the address bar at once, and exchanged for the token.
 */
export function SignInScreen(props: {
  onSignedIn: (token: string, session: ConsoleSessionView) => void;
  fetcher?: typeof fetch;
}) {
  const { onSignedIn, fetcher } = props;
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  // Busy from the first render when the address carries a sign-in code (exchanged below).
  const [busy, setBusy] = useState(() => /(?:^#|&)code=/.test(window.location.hash));
  const id = useId();

  useEffect(() => {
    const match = /(?:^#|&)code=([A-Za-z0-9_-]+)/.exec(window.location.hash);
    if (match?.[1] === undefined) return;
    const code = match[1];
    window.history.replaceState(null, '', window.location.pathname);
    new ApiClient('', fetcher)
      .signIn(code)
      .then((answer) => onSignedIn(answer.token, answer.session))
      .catch((caught: unknown) => setError(caught))
      .finally(() => setBusy(false));
  }, [fetcher, onSignedIn]);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const client = new ApiClient(token.trim(), fetcher);
      onSignedIn(token.trim(), await client.session());
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <h1>Sign in to Lockgate</h1>
      <form onSubmit={(event) => void submit(event)}>
        <label htmlFor={id}>API token</label>
        <input
          id={id}
          type="password"
          autoComplete="off"
          value={token}
          onChange={(event) => setToken(event.target.value)}
          required
        />
        <button type="submit" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
      </form>
      <Refusal error={error} />
      <p>
        The token stays in this tab's session storage. The first start of a server prints a one-time
        sign-in link for its admin token.
      </p>
    </main>
  );
}
