import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RUNTIME_METRIC_NAMES,
  histogramQuantile,
  parseRuntimeSample,
  readServerSentEvents,
  slowerThanSignal,
  trafficDelta,
} from '../src/index.ts';
import type { ServerSentEvent } from '../src/index.ts';

async function eventsOf(chunks: string[]): Promise<ServerSentEvent[]> {
  const body = chunks.map((chunk) => new TextEncoder().encode(chunk));
  const events: ServerSentEvent[] = [];
  for await (const event of readServerSentEvents(body)) events.push(event);
  return events;
}

describe('reading Server-Sent Events', () => {
  it('dispatches events on blank lines whatever the line ends and chunk borders', async () => {
    const events = await eventsOf([
      ': heartbeat\n\nevent: ind',
      'ex\r\ndata: {"version":',
      '3}\r\rid: 9\ndata: a\ndata:b\n\n',
      'data: no end',
    ]);
    expect(events).toEqual([
      { event: 'index', data: '{"version":3}', id: null },
      { event: 'message', data: 'a\nb', id: '9' },
    ]);
  });
});

describe('runtime metrics', () => {
  const names = DEFAULT_RUNTIME_METRIC_NAMES;

  it('treats a counter that went down as reset', () => {
    const before = parseRuntimeSample('lockgate_runtime_requests_total 500\n', names);
    const after = parseRuntimeSample('lockgate_runtime_requests_total 40\n', names);
    expect(trafficDelta(before, after, names)).toEqual({ requests: 40 });
  });

  it('skips lines it cannot read and series of other names', () => {
    const sample = parseRuntimeSample(
      [
        'garbage here',
        'other_total 5',
        'lockgate_runtime_errors_total{code="500",path="a\\"b"} 2 1700000000000',
        'lockgate_runtime_errors_total{code="503"} 3',
      ].join('\n'),
      names,
    );
    expect(sample).toEqual({ requests: null, errors: 5, buckets: [] });
  });

  /** A runtime's exposition with two routes, as examples/runtime writes it (seconds). */
  function exposition(routes: { fast: number[]; slow: number[] }): string {
    const bounds = ['0.05', '0.1', '0.25', '+Inf'];
    const lines: string[] = [];
    for (const [route, cumulative] of Object.entries(routes)) {
      const total = cumulative.at(-1) as number;
      lines.push(`lockgate_runtime_requests_total{route="${route}"} ${total}`);
      bounds.forEach((le, i) => {
        lines.push(
          `lockgate_runtime_request_duration_seconds_bucket{route="${route}",le="${le}"} ${cumulative[i]}`,
        );
      });
    }
    return lines.join('\n');
  }

  it('counts the requests of the delta slower than every bucket bound, in milliseconds', () => {
    const before = parseRuntimeSample(
      exposition({ fast: [90, 100, 100, 100], slow: [0, 10, 40, 50] }),
      names,
    );
    const after = parseRuntimeSample(
      exposition({ fast: [170, 190, 200, 200], slow: [0, 20, 90, 110] }),
      names,
    );
    const delta = trafficDelta(before, after, names);
    // the delta: fast 80 ≤ 50 ms, 10 in (50, 100], 10 in (100, 250]; slow 10 in (50, 100], 40 in
    // (100, 250], 10 above 250 ms
    expect(delta.requests).toBe(160);
    expect(delta.signals).toEqual({
      [slowerThanSignal(50)]: 160 - 80,
      [slowerThanSignal(100)]: 160 - 100,
      [slowerThanSignal(250)]: 10,
    });
  });

  it('sends no latency counts without a +Inf bucket or without new requests', () => {
    const partial = parseRuntimeSample(
      'lockgate_runtime_request_duration_seconds_bucket{le="0.1"} 5\n',
      names,
    );
    expect(trafficDelta(null, partial, names).signals).toBeUndefined();
    const idle = parseRuntimeSample(exposition({ fast: [1, 2, 3, 3], slow: [0, 0, 0, 0] }), names);
    expect(trafficDelta(idle, idle, names).signals).toBeUndefined();
  });

  it('interpolates quantiles inside the bucket and has none without observations', () => {
    const buckets: [number, number][] = [
      [0.1, 50],
      [0.2, 100],
      [Infinity, 100],
    ];
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.1);
    expect(histogramQuantile(0.75, buckets)).toBeCloseTo(0.15);
    expect(histogramQuantile(0.99, [[Infinity, 0]])).toBeNull();
  });
});
