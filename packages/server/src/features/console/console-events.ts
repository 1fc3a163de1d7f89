import type { ConsoleEventView } from '@lockgate/api';
import type { DecisionService } from '../decisions/public.ts';

/**
 * The console's change feed: one poller per server reads decision records appended since the
 * last one it saw (every state change of a release, stage, channel, target or pack writes one)
 * and tells every subscriber. It runs only while someone listens. Records from other replicas
 * arrive the same way, since they are read from the shared log.
 */

/** One change of the feed, as the API sends it (`@lockgate/api` ConsoleEventSchema). */
export type ConsoleEvent = ConsoleEventView;

export interface ConsoleEvents {
  /**
   * Calls `listener` with each record appended after `ready` resolves (once the feed knows the
   * end of the log); returns the unsubscribe.
   */
  subscribe(listener: (event: ConsoleEvent) => void): { ready: Promise<void>; unsubscribe(): void };
  /** Stops polling and forgets every subscriber. */
  close(): void;
}

const PAGE = 1000;

export function createConsoleEvents(deps: {
  decisions: DecisionService;
  pollMs?: number;
  onError?: (error: unknown) => void;
}): ConsoleEvents {
  const pollMs = deps.pollMs ?? 500;
  const listeners = new Set<(event: ConsoleEvent) => void>();
  let cursor: number | null = null;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let started: Promise<void> = Promise.resolve();

  /** Pages through the log from `cursor`; emits what it reads unless `quiet`. */
  const drain = async (quiet: boolean): Promise<void> => {
    for (;;) {
      const page = await deps.decisions.list({ afterSeq: cursor ?? 0, limit: PAGE });
      for (const record of page) {
        cursor = record.seq;
        if (quiet) continue;
        const event: ConsoleEvent = {
          seq: record.seq,
          kind: record.kind,
          rule: record.rule,
          release: record.release,
          env: record.env,
          channel: record.channel,
          verdict: record.verdict,
          at: record.at,
        };
        for (const listener of [...listeners]) listener(event);
      }
      if (page.length < PAGE) {
        cursor ??= 0;
        return;
      }
    }
  };

  const poll = (): Promise<void> => {
    running ??= (async () => {
      try {
        await drain(cursor === null);
      } catch (error) {
        deps.onError?.(error);
      } finally {
        running = null;
      }
    })();
    return running;
  };

  const stop = (): void => {
    if (timer !== null) clearInterval(timer);
    timer = null;
    cursor = null;
  };

  return {
    subscribe(listener) {
      listeners.add(listener);
      if (timer === null) {
        started = poll();
        timer = setInterval(() => void poll(), pollMs);
      }
      return {
        ready: started,
        unsubscribe() {
          listeners.delete(listener);
          if (listeners.size === 0) stop();
        },
      };
    },
    close() {
      listeners.clear();
      stop();
    },
  };
}
