import { Agent, request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { adminApi, agentToken, createChannel } from './lib/lockgate-api.ts';
import { quantile } from './lib/load.ts';
import { startBare, startLockgate } from './lib/processes.ts';
import { numberFlag, printTable } from './lib/table.ts';

const ENV = 'bench';
const CHANNEL = 'stable';

export interface Streams {
  /** Resolves with each stream's delay (ms) from `started` to its event with `version`. */
  until(version: number, started: number): Promise<number[]>;
  close(): void;
}

/** Opens `count` SSE streams on loopback and notes when each sees each version. */
export async function openStreams(
  url: string,
  count: number,
  headers: Record<string, string>,
): Promise<Streams> {
  const base = new URL(url);
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const seen: Map<number, number>[] = [];
  const responses: IncomingMessage[] = [];
  let waiters: (() => void)[] = [];
  await Promise.all(
    Array.from(
      { length: count },
      (_, n) =>
        new Promise<void>((resolve, reject) => {
          seen[n] = new Map();
          const req = request(
            { host: base.hostname, port: base.port, path: base.pathname, agent, headers },
            (res) => {
              responses.push(res);
              res.setEncoding('utf8');
              let buffer = '';
              res.on('data', (chunk: string) => {
                buffer += chunk;
                for (const match of buffer.matchAll(/data: \{"version":(\d+)\}/g)) {
                  const version = Number(match[1]);
                  if (!seen[n]?.has(version)) seen[n]?.set(version, performance.now());
                }
                buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 2);
                for (const wake of waiters) wake();
                resolve();
              });
            },
          );
          req.on('error', reject);
          req.end();
        }),
    ),
  );
  return {
    async until(version, started) {
      const deadline = performance.now() + 30_000;
      while (!seen.every((map) => map.has(version))) {
        if (performance.now() > deadline)
          throw new Error(`not every stream saw version ${version}`);
        await new Promise<void>((wake) => {
          waiters.push(wake);
          setTimeout(wake, 50);
        });
        waiters = [];
      }
      return seen.map((map) => (map.get(version) ?? Number.NaN) - started);
    },
    close() {
      for (const res of responses) res.destroy();
      agent.destroy();
    },
  };
}

/**
 * Propagation: an index change (a channel update) reaching every open SSE stream, p50/p99 from
 * the moment the command is sent; against a bare node:http server
 * fanning an event out to as many streams, in the same run.
 */
export async function propagationBench(flags: Map<string, string>): Promise<void> {
  const counts = (flags.get('streams') ?? '1000')
    .split(',')
    .map((s) => Number(s.replaceAll('_', '')));
  const changes = numberFlag(flags, 'changes', 5);
  const rows: (string | number)[][] = [];
  for (const count of counts) {
    const bare = await startBare();
    const bareDelays: number[] = [];
    try {
      const streams = await openStreams(`${bare.url}/events`, count, {});
      for (let v = 1; v <= changes; v++) {
        const started = performance.now();
        await fetch(`${bare.url}/publish`, { method: 'POST' });
        bareDelays.push(...(await streams.until(v, started)));
      }
      streams.close();
    } finally {
      await bare.stop();
    }
    const server = await startLockgate({ logLevel: 'warn' });
    const delays: number[] = [];
    try {
      const api = adminApi(server.url, server.adminToken);
      await createChannel(api, ENV, CHANNEL);
      const token = await agentToken(api, 'bench-streams', '*', ENV, CHANNEL);
      const streams = await openStreams(
        `${server.url}/api/v1/channels/${ENV}/${CHANNEL}/events`,
        count,
        {
          authorization: `Bearer ${token}`,
        },
      );
      for (let i = 1; i <= changes; i++) {
        const started = performance.now();
        const { channel } = await api.call<{ channel: { indexVersion: number } }>(
          'PUT',
          `/environments/${ENV}/channels/${CHANNEL}`,
          { floor: i },
        );
        delays.push(...(await streams.until(channel.indexVersion, started)));
      }
      streams.close();
      const sorted = Float64Array.from(delays).sort();
      const bareSorted = Float64Array.from(bareDelays).sort();
      rows.push([
        count,
        quantile(sorted, 0.5),
        quantile(sorted, 0.99),
        quantile(bareSorted, 0.5),
        quantile(bareSorted, 0.99),
        server.rssMiB(),
        1000,
      ]);
    } finally {
      await server.stop();
    }
  }
  printTable(
    `propagation: a channel change to every SSE stream (${changes} changes, SQLite), from the command being sent`,
    [
      'streams',
      'p50 ms',
      'p99 ms',
      'bare p50 ms',
      'bare p99 ms',
      'server RSS MiB',
      'p99 budget ms',
    ],
    rows,
  );
}
