import { useMemo } from 'react';
import { hrefOf, navigate, useLocation } from '../app/router.tsx';
import { useLive, useNow } from '../app/live.tsx';
import { useConsole } from '../app/session.tsx';
import { age, packName } from '../ui/format.ts';
import { Refusal } from '../ui/refusal.tsx';
import { VirtualRows } from '../ui/virtual-list.tsx';
import type { ChannelView, TargetView } from '@lockgate/api';
import type { ApiClient } from '../api/client.ts';

const STALE_MS = 5 * 60_000;

async function load(
  client: ApiClient,
  env: string,
  channel: string,
): Promise<{ targets: TargetView[]; channels: Map<string, ChannelView> }> {
  const targets: TargetView[] = [];
  for (let page = 0; page < 100; page += 1) {
    const after = targets.at(-1)?.id;
    const { items } = await client.targets({
      ...(env === '' ? {} : { env }),
      ...(channel === '' ? {} : { channel }),
      limit: 1000,
      ...(after === undefined ? {} : { after }),
    });
    targets.push(...items);
    if (items.length < 1000) break;
  }
  const keys = [...new Set(targets.map((t) => `${t.env}/${t.channel}`))];
  const channels = new Map<string, ChannelView>();
  for (const key of keys.slice(0, 50)) {
    const [e = '', c = ''] = key.split('/');
    try {
      channels.set(key, (await client.channel(e, c)).channel);
    } catch {
      // A channel that cannot be read leaves drift unknown for its targets.
    }
  }
  return { targets, channels };
}

/**
 * The pack a target should run when no release is rolling: the channel's pin, else its base.
 * (During a rollout core desiredPack decides per target; the Deploy Stage screen shows that.)
 */
function expected(channel: ChannelView | undefined): string | null {
  if (channel === undefined) return null;
  return (
    channel.pins.find((p) => p.cohort === '_')?.pack ??
    (channel.activeRelease === null ? channel.base : null)
  );
}

/** Targets: filter by env, channel, labels, pack, health and staleness; drift shown. */
export function TargetsScreen() {
  const { client, packs } = useConsole();
  const now = useNow(5000);
  const { query } = useLocation();
  const env = query.get('env') ?? '';
  const channel = query.get('channel') ?? '';
  const text = query.get('q') ?? '';
  const only = query.get('only') ?? '';
  const data = useLive(() => load(client, env, channel), [client, env, channel], { pollMs: 5000 });
  const set = (key: string, value: string): void =>
    navigate(hrefOf('/targets', { env, channel, q: text, only, [key]: value }), { replace: true });
  const rows = useMemo(() => {
    if (data.status !== 'ready') return [];
    const needle = text.trim().toLowerCase();
    return data.data.targets
      .map((t) => {
        const want = expected(data.data.channels.get(`${t.env}/${t.channel}`));
        const drift = want !== null && t.activePack !== want;
        const stale = t.lastReportAt === null || now - Date.parse(t.lastReportAt) > STALE_MS;
        return { t, want, drift, stale };
      })
      .filter(({ t, drift, stale }) => {
        if (only === 'drift' && !drift) return false;
        if (only === 'stale' && !stale) return false;
        if (only === 'failed' && t.lastAttempt?.result !== 'failed') return false;
        if (needle === '') return true;
        return (
          t.id.toLowerCase().includes(needle) ||
          Object.entries(t.labels).some(([k, v]) => `${k}=${v}`.includes(needle)) ||
          packName(packs, t.activePack).includes(needle)
        );
      });
  }, [data, text, only, packs, now]);
  return (
    <section aria-labelledby="targets-title">
      <h1 id="targets-title">Targets</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Environment <input value={env} onChange={(e) => set('env', e.target.value)} />
        </label>
        <label>
          Channel <input value={channel} onChange={(e) => set('channel', e.target.value)} />
        </label>
        <label>
          Id, label or pack <input value={text} onChange={(e) => set('q', e.target.value)} />
        </label>
        <label>
          Show{' '}
          <select value={only} onChange={(e) => set('only', e.target.value)}>
            <option value="">all</option>
            <option value="drift">drift (active ≠ desired)</option>
            <option value="stale">stale (no report in 5m)</option>
            <option value="failed">last attempt failed</option>
          </select>
        </label>
      </form>
      {data.status === 'loading' ? <p role="status">Loading targets…</p> : null}
      {data.status === 'error' ? <Refusal error={data.error} /> : null}
      {data.status === 'ready' && rows.length === 0 ? <p role="status">No targets match.</p> : null}
      {rows.length > 0 ? (
        <>
          <p role="status">
            {rows.length} targets, {rows.filter((r) => r.drift).length} drifting
          </p>
          <VirtualRows
            label="Targets"
            rows={rows}
            rowHeight={28}
            height={480}
            header={
              <tr>
                <th scope="col">Target</th>
                <th scope="col">Env / channel</th>
                <th scope="col">Labels</th>
                <th scope="col">Desired</th>
                <th scope="col">Active</th>
                <th scope="col">Last report</th>
                <th scope="col">Last attempt</th>
              </tr>
            }
            row={({ t, want, drift, stale }) => (
              <tr key={t.id} style={{ height: 28 }} className={drift ? 'drift' : undefined}>
                <td>{t.id}</td>
                <td>
                  {t.env} / {t.channel}
                </td>
                <td>
                  {Object.entries(t.labels)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(' ')}
                </td>
                <td>{want === null ? 'rolling' : packName(packs, want)}</td>
                <td>
                  {packName(packs, t.activePack)}
                  {drift ? ' (drift)' : ''}
                </td>
                <td>
                  {age(t.lastReportAt, now)}
                  {stale ? ' (stale)' : ''}
                </td>
                <td>
                  {t.lastAttempt === null
                    ? '—'
                    : `${t.lastAttempt.kind} ${t.lastAttempt.result}${t.lastAttempt.code === undefined ? '' : ` ${t.lastAttempt.code}`}`}
                </td>
              </tr>
            )}
          />
        </>
      ) : null}
    </section>
  );
}
