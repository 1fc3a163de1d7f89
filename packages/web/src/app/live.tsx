import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import type { ConsoleEventView } from '@lockgate/api';

/**
 * Live data: each screen's loader runs on mount, on every change event of the server's stream
 * (`GET /api/v1/events`, read with fetch since EventSource cannot send a bearer token), and on
 * a poll as a fallback (target reports write no change event).
 */

export type Subscribe = (listener: (event: ConsoleEventView) => void) => () => void;

export const LiveContext = createContext<{ subscribe: Subscribe; connected: boolean }>({
  subscribe: () => () => undefined,
  connected: false,
});

/** Opens the event stream with `token` and reconnects after a second when it drops. */
export function useEventStream(token: string): { subscribe: Subscribe; connected: boolean } {
  const listeners = useRef(new Set<(event: ConsoleEventView) => void>());
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    if (token === '' || typeof ReadableStream === 'undefined') return undefined;
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const connect = async (): Promise<void> => {
      try {
        const response = await fetch('/api/v1/events', {
          headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
          signal: abort.signal,
        });
        if (!response.ok || response.body === null) throw new Error(String(response.status));
        setConnected(true);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf('\n\n');
            const lines = block.split('\n');
            if (!lines.includes('event: change')) continue;
            const data = lines.find((line) => line.startsWith('data: '));
            if (data === undefined) continue;
            const event = JSON.parse(data.slice(6)) as ConsoleEventView;
            for (const listener of [...listeners.current]) listener(event);
          }
        }
      } catch {
        // Dropped or refused: try again shortly.
      }
      setConnected(false);
      if (!abort.signal.aborted) timer = setTimeout(() => void connect(), 1000);
    };
    void connect();
    return () => {
      abort.abort();
      if (timer !== null) clearTimeout(timer);
    };
  }, [token]);
  const subscribe = useCallback<Subscribe>((listener) => {
    listeners.current.add(listener);
    return () => listeners.current.delete(listener);
  }, []);
  return { subscribe, connected };
}

export type Loadable<T> =
  | { status: 'loading' }
  | { status: 'error'; error: unknown }
  | { status: 'ready'; data: T; error?: unknown };

/**
 * `load` now, again on each change event that `relevant` accepts (all by default), and every
 * `pollMs`. A failed refresh keeps the data shown and carries the error beside it.
 */
export function useLive<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  options: { pollMs?: number; relevant?: (event: ConsoleEventView) => boolean } = {},
): Loadable<T> & { reload(): void } {
  const { subscribe } = useContext(LiveContext);
  const [state, setState] = useState<Loadable<T>>({ status: 'loading' });
  const [nonce, setNonce] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const relevantRef = useRef(options.relevant);
  relevantRef.current = options.relevant;
  useEffect(() => {
    setState({ status: 'loading' });
    let alive = true;
    let inFlight = false;
    const run = async (): Promise<void> => {
      if (inFlight) return;
      inFlight = true;
      try {
        const data = await loadRef.current();
        if (alive) setState({ status: 'ready', data });
      } catch (error) {
        if (alive) {
          setState((previous) =>
            previous.status === 'ready' ? { ...previous, error } : { status: 'error', error },
          );
        }
      } finally {
        inFlight = false;
      }
    };
    void run();
    const unsubscribe = subscribe((event) => {
      if (relevantRef.current === undefined || relevantRef.current(event)) void run();
    });
    const timer =
      options.pollMs === undefined ? null : setInterval(() => void run(), options.pollMs);
    return () => {
      alive = false;
      unsubscribe();
      if (timer !== null) clearInterval(timer);
    };
    // The caller's deps, checked at each call site (exhaustive-deps additionalHooks: useLive).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, nonce, subscribe, options.pollMs]);
  return { ...state, reload: () => setNonce((n) => n + 1) };
}

/**
 * The time now in milliseconds, moving every `everyMs`: screens read the clock through this
 * (a render stays pure, and ages and countdowns move on without a reload).
 */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
