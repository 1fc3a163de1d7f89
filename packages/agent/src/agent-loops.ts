/**
 * Waiting, for the agent's loops: a sleep that ends on abort, a wake-up that ends the wait
 * for the next poll early when an index event (or the machine) asks for a sync, and the
 * event stream follower.
 */
import { readServerSentEvents } from './sse-reader.ts';

/** Resolves after `ms`, or at once when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A sync requested while none waits is kept until the next wait, which then ends at once. */
export class Wakeup {
  #dirty = false;
  #wake: (() => void) | null = null;

  /** Asks for a sync: ends the current wait, or the next one before it starts. */
  request(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  /** Ends the current wait without asking for a sync (stop()). */
  interrupt(): void {
    this.#wake?.();
  }

  /** Forgets the request: the sync it asked for is starting. */
  take(): void {
    this.#dirty = false;
  }

  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.#dirty || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
  }
}

/** Whether the signal aborted (read anew after every await). */
export function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

export interface IndexEventSource {
  openEvents(env: string, channel: string, signal: AbortSignal): Promise<Response>;
}

export interface IndexEventOptions {
  env: string;
  channel: string;
  maxEventBytes: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

/**
 * Follows the channel's event stream until the signal aborts, reconnecting with backoff.
 * `onEvent(null)` on each (re)connection (whatever changed while disconnected), and
 * `onEvent(data)` for each `index` event.
 */
export async function followIndexEvents(
  source: IndexEventSource,
  options: IndexEventOptions,
  signal: AbortSignal,
  handlers: { onEvent: (data: string | null) => void; onError: (error: unknown) => void },
): Promise<void> {
  const { env, channel, maxEventBytes } = options;
  let pause = options.reconnectMinMs;
  while (!signal.aborted) {
    try {
      const response = await source.openEvents(env, channel, signal);
      pause = options.reconnectMinMs;
      handlers.onEvent(null);
      if (response.body !== null) {
        for await (const event of readServerSentEvents(response.body, { maxEventBytes })) {
          if (event.event === 'index') handlers.onEvent(event.data);
        }
      }
    } catch (error) {
      if (signal.aborted) break;
      handlers.onError(error);
    }
    await sleep(pause, signal);
    pause = Math.min(pause * 2, options.reconnectMaxMs);
  }
}

/** Whether an `index` event names a version newer than the highest seen (unreadable: assume so). */
export function isNewerIndexEvent(data: string, highestSeen: number): boolean {
  try {
    const { version } = JSON.parse(data) as { version?: unknown };
    return typeof version !== 'number' || version > highestSeen;
  } catch {
    return true;
  }
}
