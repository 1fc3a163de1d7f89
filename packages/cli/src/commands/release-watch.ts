/**
 * `lockgate release status REL --watch`: the release's status, drawn again on every change event
 * of the server's stream (`GET /api/v1/events`, the one the console reads) that names the
 * release, and every few seconds (gates and soak move without a record). It ends when the
 * release ends (exit 0) or when the process is asked to stop (Ctrl-C, exit 0); a dropped stream
 * is opened again after a second.
 *
 * On a terminal each status replaces the last (cursor home, clear); otherwise, and with --json
 * (one JSON document per line), each is appended.
 */
import type { ConsoleEventView, ReleaseView, ReleaseWhyView } from '@lockgate/api';
import { isTerminal } from '@lockgate/core';
import type { ApiClient } from '../api-client.ts';
import type { CommandContext } from '../command-context.ts';
import { loadPackNames } from '../pack-names.ts';
import { formatReleaseStatus, releaseProgress } from '../release-format.ts';

/** How often the status is drawn again without a change event. */
const REDRAW_MS = 5000;
const RECONNECT_MS = 1000;
const CLEAR = '\u001b[H\u001b[2J';

export interface WatchDeps {
  fetchStatus(id: string): Promise<{ release: ReleaseView; why: ReleaseWhyView | null }>;
  redrawMs?: number;
}

/** The change events of an SSE text stream, as they arrive. */
export async function* changeEvents(
  chunks: AsyncIterable<string>,
): AsyncGenerator<ConsoleEventView> {
  let buffer = '';
  for await (const chunk of chunks) {
    buffer += chunk;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      const lines = block.split('\n');
      if (!lines.includes('event: change')) continue;
      const data = lines.find((line) => line.startsWith('data: '));
      if (data !== undefined) yield JSON.parse(data.slice(6)) as ConsoleEventView;
    }
  }
}

export async function watchRelease(
  context: CommandContext,
  client: ApiClient,
  id: string,
  options: { json: boolean; deps: WatchDeps },
): Promise<void> {
  const { json, deps } = options;
  const abort = new AbortController();
  void context.io.untilShutdown().then(() => abort.abort());
  const interactive = context.io.interactive === true && !json;
  let done = false;
  let drawing: Promise<void> = Promise.resolve();

  const draw = async (): Promise<void> => {
    const { release, why } = await deps.fetchStatus(id);
    if (json) {
      context.io.stdout(
        `${JSON.stringify({ release, why, at: context.io.now().toISOString() })}\n`,
      );
    } else {
      const names = await loadPackNames(client, [
        release.pack,
        release.basePack,
        release.outcome?.rollbackTo,
      ]);
      const text = formatReleaseStatus(release, releaseProgress(release, context.io.now()), {
        why,
        names,
      });
      const header = `release ${id} at ${context.io.now().toISOString()} (watching; Ctrl-C stops)`;
      context.io.stdout(`${interactive ? CLEAR : '\n'}${header}\n${text}\n`);
    }
    if (isTerminal(release.state)) {
      done = true;
      abort.abort();
    }
  };
  /** Draws once at a time; a change during a draw draws again after it. */
  const redraw = (): Promise<void> => {
    drawing = drawing.then(() => (done ? undefined : draw()));
    return drawing;
  };

  await redraw();
  const timer = setInterval(() => {
    redraw().catch(() => undefined);
  }, deps.redrawMs ?? REDRAW_MS);
  try {
    while (!done && !abort.signal.aborted) {
      try {
        const stream = await client.openStream('/api/v1/events', abort.signal);
        for await (const event of changeEvents(stream)) {
          if (event.release === id) await redraw();
          if (done) break;
        }
      } catch (error) {
        if (abort.signal.aborted) break;
        // A dropped stream: the timer keeps drawing; open it again shortly.
        if (!(error instanceof Error)) throw error;
      }
      if (!done && !abort.signal.aborted) {
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
        await redraw();
      }
    }
  } finally {
    clearInterval(timer);
    await drawing;
    abort.abort();
  }
}
