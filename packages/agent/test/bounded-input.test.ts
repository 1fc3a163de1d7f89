import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentError, readServerSentEvents, resolveAgentOptions } from '../src/index.ts';
import type { Agent, CommittedEvent, RejectedEvent, WarningEvent } from '../src/index.ts';
import {
  agentOptions,
  currentHex,
  hexOf,
  makeTempDir,
  testAgent,
} from './helpers/agent-fixture.ts';
import { FixtureServer, streamEndlessly } from './helpers/fixture-server.ts';
import { buildPack, signIndex } from './helpers/packs.ts';
import type { TestPack } from './helpers/packs.ts';

const MiB = 1024 ** 2;
/** What the endless answers send at most before they end on their own. */
const BOUND = 64 * MiB;

let server: FixtureServer;
let temp: { dir: string; remove: () => Promise<void> };
let a: TestPack;
let b: TestPack;
let running: Agent | null = null;

beforeEach(async () => {
  server = await FixtureServer.start();
  temp = await makeTempDir('bounded');
  a = await buildPack({ version: '1.0.0', sequence: 1 });
  b = await buildPack({ version: '2.0.0', sequence: 2 });
  server.servePack(a);
  server.servePack(b);
});

afterEach(async () => {
  await running?.stop();
  running = null;
  await server.close();
  await temp.remove();
});

/** A fetch that counts the body bytes the agent took from answers whose path ends in `leaf`. */
function countingFetch(leaf: string): { fetch: typeof fetch; read: () => number } {
  let read = 0;
  const counting: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const url = input instanceof Request ? input.url : String(input);
    if (!url.endsWith(leaf) || response.body === null) return response;
    const counted = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          read += chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, { status: response.status, headers: response.headers });
  };
  return { fetch: counting, read: () => read };
}

describe('an index answer without end', () => {
  it('stops reading at maxIndexBytes with INDEX_TOO_LARGE and keeps running its pack', async () => {
    server.publish(signIndex({ version: 1, packs: [a] }));
    const counter = countingFetch('/index');
    const agent = testAgent(server.url, temp.dir, { maxIndexBytes: MiB, fetch: counter.fetch });
    expect(await agent.syncOnce()).toMatchObject({ kind: 'committed', pack: a.digest });

    const rejected: RejectedEvent[] = [];
    agent.on('rejected', (event) => rejected.push(event));
    const before = counter.read();
    let streamed: Promise<{ written: number; closedByReader: boolean }> | null = null;
    server.nextIndexAnswer = (response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      streamed = streamEndlessly(response, '{"payloadType":"', 'a', BOUND);
    };
    expect(await agent.syncOnce()).toMatchObject({
      kind: 'index-rejected',
      code: 'INDEX_TOO_LARGE',
    });
    expect(rejected).toEqual([
      expect.objectContaining({ pack: null, stage: 'index', code: 'INDEX_TOO_LARGE' }),
    ]);
    // The agent took no more than the bound and one chunk, and dropped the connection.
    expect(counter.read() - before).toBeLessThanOrEqual(2 * MiB);
    expect(streamed).not.toBeNull();
    const result = await (streamed as unknown as Promise<{ closedByReader: boolean }>);
    expect(result.closedByReader).toBe(true);
    expect(await currentHex(temp.dir)).toBe(hexOf(a));

    // It still works: the next answer is read and acted on.
    server.publish(signIndex({ version: 2, packs: [a, b], base: b }));
    expect(await agent.syncOnce()).toEqual({ kind: 'committed', pack: b.digest });
  });

  it('refuses an answer that declares a length over the bound without reading it', async () => {
    const counter = countingFetch('/index');
    const agent = testAgent(server.url, temp.dir, { maxIndexBytes: MiB, fetch: counter.fetch });
    server.nextIndexAnswer = (response) => {
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': String(BOUND),
      });
      void streamEndlessly(response, '{', 'a', BOUND);
    };
    expect(await agent.syncOnce()).toMatchObject({
      kind: 'index-rejected',
      code: 'INDEX_TOO_LARGE',
    });
    expect(counter.read()).toBe(0);
  });

  it('bounds an index answer by 16 MiB and an event by 64 KiB unless told otherwise', () => {
    const options = resolveAgentOptions(agentOptions(server.url, temp.dir));
    expect(options.maxIndexBytes).toBe(16 * MiB);
    expect(options.maxEventBytes).toBe(64 * 1024);
  });
});

describe('an event-stream line without end', () => {
  it('closes the stream at maxEventBytes with EVENT_TOO_LARGE, reconnects and still follows the channel', async () => {
    server.publish(signIndex({ version: 1, packs: [a] }));
    const counter = countingFetch('/events');
    let streamed: Promise<{ written: number; closedByReader: boolean }> | null = null;
    server.nextEventsAnswer = (response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      streamed = streamEndlessly(response, ': connected\n\nevent: index\ndata: ', 'x', BOUND);
    };
    const agent = testAgent(server.url, temp.dir, {
      events: true,
      maxEventBytes: 64 * 1024,
      // Only the stream (and its reconnects) make the agent sync in this test.
      pollIntervalMs: 600_000,
      reportIntervalMs: 600_000,
      reconnectMinMs: 10,
      reconnectMaxMs: 20,
      fetch: counter.fetch,
    });
    running = agent;
    const warnings: WarningEvent[] = [];
    const tooLarge = new Promise<void>((resolve) => {
      agent.on('warning', (warning) => {
        warnings.push(warning);
        if (warning.code === 'EVENT_TOO_LARGE') resolve();
      });
    });
    const committed: CommittedEvent[] = [];
    let onCommit: (() => void) | null = null;
    agent.on('committed', (event) => {
      committed.push(event);
      onCommit?.();
    });
    await agent.start();
    await tooLarge;
    const result = await (streamed as unknown as Promise<{ closedByReader: boolean }>);
    expect(result.closedByReader).toBe(true);
    // The agent took no more than the bound and one chunk of the endless line.
    expect(counter.read()).toBeLessThanOrEqual(MiB);

    // Reconnected, it hears the next index event and acts on it.
    const reconnected = async (): Promise<void> => {
      for (let i = 0; i < 500 && server.eventStreams === 0; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    await reconnected();
    expect(server.eventStreams).toBe(1);
    const sawB = new Promise<void>((resolve) => {
      onCommit = () => {
        if (committed.some((c) => c.pack === b.digest)) resolve();
      };
      onCommit();
    });
    server.publish(signIndex({ version: 2, packs: [a, b], base: b }));
    await sawB;
    expect(await currentHex(temp.dir)).toBe(hexOf(b));
  });
});

describe('reading Server-Sent Events incrementally', () => {
  it('throws EVENT_TOO_LARGE once a line passes the bound, having pulled no more than it needed', async () => {
    let pulled = 0;
    function* chunks(): Generator<Uint8Array> {
      yield new TextEncoder().encode('event: index\ndata: ');
      for (let i = 0; i < 300; i += 1) {
        pulled += 1;
        yield new Uint8Array(1_000).fill(0x78);
      }
    }
    const events: unknown[] = [];
    let error: unknown = null;
    try {
      for await (const event of readServerSentEvents(chunks(), { maxEventBytes: 10_000 })) {
        events.push(event);
      }
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AgentError);
    expect((error as AgentError).code).toBe('EVENT_TOO_LARGE');
    expect(events).toEqual([]);
    expect(pulled).toBeLessThanOrEqual(11);
  });

  it('bounds the data of one event across many short lines', async () => {
    const lines = Array.from({ length: 200 }, () => `data: ${'y'.repeat(100)}\n`);
    const body = [new TextEncoder().encode(lines.join(''))];
    await expect(async () => {
      for await (const _ of readServerSentEvents(body, { maxEventBytes: 10_000 })) {
        // nothing is dispatched before the bound is passed
      }
    }).rejects.toMatchObject({ code: 'EVENT_TOO_LARGE' });
  });

  it('treats a CR at a chunk end and the LF that starts the next chunk as one line end', async () => {
    const body = ['data: a\r', '\ndata: b\r', '\n\r', '\n'].map((t) => new TextEncoder().encode(t));
    const events: unknown[] = [];
    for await (const event of readServerSentEvents(body)) events.push(event);
    expect(events).toEqual([{ event: 'message', data: 'a\nb', id: null }]);
  });
});
