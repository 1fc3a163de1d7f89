import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RUNTIME_METRIC_NAMES,
  histogramQuantile,
  parseRuntimeSample,
  readServerSentEvents,
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
