import { readFileSync } from 'node:fs';
import { adminApi, agentToken, createChannel } from './lib/lockgate-api.ts';
import { quantile } from './lib/load.ts';
import { startLockgate } from './lib/processes.ts';
import { numberFlag, printTable } from './lib/table.ts';
import { openStreams } from './propagation.ts';

const ENV = 'bench';
const CHANNEL = 'stable';
const DEFAULT_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Two replicas on one PostgreSQL database, `--streams` SSE streams open on each: an index change
 * made on the first, p50/p99 from the command being sent to each stream's event. The baseline,
 * measured in the same run, is the first replica's own streams (told in process); the other
 * replica's are told by LISTEN/NOTIFY.
 */
export async function replicasBench(flags: Map<string, string>): Promise<void> {
  const count = numberFlag(flags, 'streams', 200);
  const changes = numberFlag(flags, 'changes', 20);
  const postgresUrl = flags.get('postgres') ?? DEFAULT_POSTGRES;
  const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const loadBefore = load();
  const one = await startLockgate({ postgresUrl, logLevel: 'warn' });
  let two: Awaited<ReturnType<typeof startLockgate>> | null = null;
  try {
    two = await startLockgate({ replicaOf: one, logLevel: 'warn' });
    const api = adminApi(one.url, one.adminToken);
    await createChannel(api, ENV, CHANNEL);
    const token = await agentToken(api, 'bench-streams', '*', ENV, CHANNEL);
    const path = `/api/v1/channels/${ENV}/${CHANNEL}/events`;
    const headers = { authorization: `Bearer ${token}` };
    const here = await openStreams(`${one.url}${path}`, count, headers);
    const there = await openStreams(`${two.url}${path}`, count, headers);
    const same: number[] = [];
    const other: number[] = [];
    for (let i = 1; i <= changes; i++) {
      const started = performance.now();
      const { channel } = await api.call<{ channel: { indexVersion: number } }>(
        'PUT',
        `/environments/${ENV}/channels/${CHANNEL}`,
        { floor: i },
      );
      const [a, b] = await Promise.all([
        here.until(channel.indexVersion, started),
        there.until(channel.indexVersion, started),
      ]);
      same.push(...a);
      other.push(...b);
    }
    here.close();
    there.close();
    const sameSorted = Float64Array.from(same).sort();
    const otherSorted = Float64Array.from(other).sort();
    const p99 = (sorted: Float64Array): number => quantile(sorted, 0.99);
    printTable(
      `replicas: an index change on one replica to the streams of both (${changes} changes, PostgreSQL, load ${loadBefore} before, ${load()} after)`,
      [
        'streams each',
        'other replica p50 ms',
        'other replica p99 ms',
        'same replica p50 ms',
        'same replica p99 ms',
        'p99 ratio',
        'p99 budget ms',
      ],
      [
        [
          count,
          quantile(otherSorted, 0.5),
          p99(otherSorted),
          quantile(sameSorted, 0.5),
          p99(sameSorted),
          p99(otherSorted) / p99(sameSorted),
          1000,
        ],
      ],
    );
  } finally {
    await two?.stop();
    await one.stop();
  }
}
