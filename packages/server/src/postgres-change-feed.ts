import { Client } from 'pg';
import { CHANGE_CHANNEL, parseChange } from './change-feed.ts';
import type { ChangeFeed, ChangeSubscriber } from './change-feed.ts';

export interface PostgresChangeFeed extends ChangeFeed {
  /** Connects and listens; reconnects on its own until stopped. */
  start(): void;
  stop(): Promise<void>;
}

export const DEFAULT_FEED_PING_MS = 1000;

/**
 * A dedicated `pg` client (not one of the pool's) that LISTENs on CHANGE_CHANNEL and tells the
 * subscribers each notification.
 *
 * - The session begins once LISTEN returned; subscribers are told `listening(session)` then.
 * - The client pings every `pingMs`; a ping that fails or takes longer than `pingMs`, an error
 *   or the end of the connection ends the session (session() turns null at once) and a new
 *   connection is tried after a backoff (from `pingMs` / 4 up to 5 s).
 * - session() also turns null when no ping succeeded for 3 × `pingMs`: a connection that went
 *   silent (a network partition) is not trusted longer than the change poll was.
 */
export function createPostgresChangeFeed(options: {
  url: string;
  /** Names the connection in pg_stat_activity. */
  name: string;
  pingMs?: number;
  onError?: (error: unknown) => void;
  /** Monotonic milliseconds (default performance.now). */
  now?: () => number;
}): PostgresChangeFeed {
  const pingMs = options.pingMs ?? DEFAULT_FEED_PING_MS;
  const now = options.now ?? (() => performance.now());
  const subscribers = new Set<ChangeSubscriber>();
  let client: Client | null = null;
  let session: number | null = null;
  let sessions = 0;
  let lastHeard = 0;
  let running = false;
  let retryMs = Math.max(10, Math.floor(pingMs / 4));
  let reconnectTimer: NodeJS.Timeout | null = null;
  let pingTimer: NodeJS.Timeout | null = null;

  const tell = (each: (subscriber: ChangeSubscriber) => void): void => {
    for (const subscriber of [...subscribers]) {
      try {
        each(subscriber);
      } catch (error) {
        // One failing subscriber must not keep the others from hearing.
        options.onError?.(error);
      }
    }
  };

  const scheduleReconnect = (): void => {
    if (!running || reconnectTimer !== null) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      void connect();
    }, retryMs);
    reconnectTimer.unref();
    retryMs = Math.min(5000, retryMs * 2);
  };

  const drop = (broken: Client): void => {
    if (client !== broken) return;
    client = null;
    session = null;
    if (pingTimer !== null) clearInterval(pingTimer);
    pingTimer = null;
    void broken.end().catch(() => undefined);
    scheduleReconnect();
  };

  const connect = async (): Promise<void> => {
    if (!running || client !== null) return;
    const connecting = new Client({
      connectionString: options.url,
      application_name: options.name.slice(0, 63),
      keepAlive: true,
      query_timeout: pingMs,
    });
    client = connecting;
    connecting.on('error', (error) => {
      options.onError?.(error);
      drop(connecting);
    });
    connecting.on('end', () => drop(connecting));
    connecting.on('notification', (message) => {
      if (client !== connecting || message.channel !== CHANGE_CHANNEL) return;
      lastHeard = now();
      const change = parseChange(message.payload);
      if (change !== null) tell((subscriber) => subscriber.change?.(change));
    });
    try {
      await connecting.connect();
      await connecting.query(`listen ${CHANGE_CHANNEL}`);
    } catch (error) {
      options.onError?.(error);
      drop(connecting);
      return;
    }
    if (client !== connecting || !running) return;
    lastHeard = now();
    retryMs = Math.max(10, Math.floor(pingMs / 4));
    sessions += 1;
    session = sessions;
    const begun = session;
    pingTimer = setInterval(() => {
      connecting.query('select 1').then(
        () => {
          if (client === connecting) lastHeard = now();
        },
        (error: unknown) => {
          options.onError?.(error);
          drop(connecting);
        },
      );
    }, pingMs);
    pingTimer.unref();
    tell((subscriber) => subscriber.listening?.(begun));
  };

  return {
    session() {
      if (session === null || now() - lastHeard > 3 * pingMs) return null;
      return session;
    },

    subscribe(subscriber) {
      subscribers.add(subscriber);
      return () => {
        subscribers.delete(subscriber);
      };
    },

    start() {
      if (running) return;
      running = true;
      void connect();
    },

    async stop() {
      running = false;
      if (reconnectTimer !== null) clearTimeout(reconnectTimer);
      reconnectTimer = null;
      if (pingTimer !== null) clearInterval(pingTimer);
      pingTimer = null;
      const current = client;
      client = null;
      session = null;
      subscribers.clear();
      if (current !== null) await current.end().catch(() => undefined);
    },
  };
}
