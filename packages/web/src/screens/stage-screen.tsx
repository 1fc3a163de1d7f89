import { useMemo, useState } from 'react';
import type { HealthGateResultView, StageView, TargetView } from '@lockgate/api';
import type { ApiClient } from '../api/client.ts';
import { useLive, useNow } from '../app/live.tsx';
import { Link } from '../app/router.tsx';
import { useConsole } from '../app/session.tsx';
import { age, duration, packName, stateWord } from '../ui/format.ts';
import { Refusal } from '../ui/refusal.tsx';
import { VirtualRows } from '../ui/virtual-list.tsx';

const METRIC_WORDS: Record<string, string> = {
  error_rate: 'error rate',
  activation: 'activation',
  latency_p95_ms: 'latency p95 (ms)',
  latency_p99_ms: 'latency p99 (ms)',
};

type StageGate = StageView['gates'][number];

const opWords = (op: string): string => op.replace('<=', '≤').replace('>=', '≥');

function gateWords(gate: StageGate): string {
  if ('provider' in gate) {
    return `Prometheus ${gate.query} ${opWords(gate.op)} ${gate.threshold} over ${duration(gate.windowSeconds)}`;
  }
  if ('kind' in gate) {
    const margin =
      'relative' in gate.margin
        ? `${gate.margin.relative}× relative`
        : `${gate.margin.absolute} absolute`;
    return `${gate.metric} of the canary against the baseline (α ${gate.alpha}, margin ${margin}, ≥ ${gate.minSamples} samples, looks every ${duration(gate.windowSeconds)})`;
  }
  const metric = METRIC_WORDS[gate.metric] ?? gate.metric;
  const window = gate.windowSeconds === undefined ? '' : ` over ${duration(gate.windowSeconds)}`;
  const targets = gate.minTargets === undefined ? '' : ` with ≥ ${gate.minTargets} targets`;
  const samples = gate.minSamples === undefined ? '' : ` and ≥ ${gate.minSamples} samples`;
  return `${metric} ${opWords(gate.op)} ${gate.threshold}${window}${targets}${samples}`;
}

/** The stage's policy in words. */
export function policyWords(stage: StageView): string {
  const gates =
    stage.gates.length === 0 ? 'no health gates' : stage.gates.map(gateWords).join(' and ');
  const approvals = (stage.approvals ?? 0) > 0 ? `; ${stage.approvals} approvals first` : '';
  return `proceed when ${gates}; soak ${duration(stage.soakSeconds)}${approvals}`;
}

/** The controller's result of the stage's gate `i` (results come in the plan's gate order). */
function resultOf(
  results: readonly HealthGateResultView[],
  gate: StageGate,
  i: number,
): HealthGateResultView | undefined {
  const result = results[i];
  if (result === undefined) return undefined;
  const same =
    'provider' in gate ? result.provider === 'prometheus' : result.metric === gate.metric;
  return same ? result : undefined;
}

const PAGE = 1000;

/** Every target of a channel, page by page (ids after the last one seen). */
export async function allTargets(
  client: ApiClient,
  env: string,
  channel: string,
): Promise<TargetView[]> {
  const all: TargetView[] = [];
  for (let page = 0; page < 100; page += 1) {
    const after = all.at(-1)?.id;
    const { items } = await client.targets({
      env,
      channel,
      limit: PAGE,
      ...(after === undefined ? {} : { after }),
    });
    all.push(...items);
    if (items.length < PAGE) break;
  }
  return all;
}

type SortKey = 'id' | 'active' | 'report' | 'attempt';

/** Deploy Stage: the stage's policy, its gates against thresholds, and every target. */
export function StageScreen({ id, index }: { id: string; index: number }) {
  const { client, packs } = useConsole();
  const now = useNow(5000);
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<SortKey>('id');
  const status = useLive(() => client.release(id), [client, id], {
    pollMs: 1000,
    relevant: (event) => event.release === id,
  });
  const env = status.status === 'ready' ? status.data.release.env : null;
  const channel = status.status === 'ready' ? status.data.release.channel : null;
  const targets = useLive(
    () =>
      env === null || channel === null ? Promise.resolve([]) : allTargets(client, env, channel),
    [client, env, channel],
    { pollMs: 3000 },
  );
  const rows = useMemo(() => {
    const list = targets.status === 'ready' ? targets.data : [];
    const needle = filter.trim().toLowerCase();
    const filtered =
      needle === ''
        ? list
        : list.filter(
            (t) =>
              t.id.toLowerCase().includes(needle) ||
              Object.entries(t.labels).some(([k, v]) => `${k}=${v}`.includes(needle)) ||
              packName(packs, t.activePack).includes(needle),
          );
    const key = (t: TargetView): string =>
      sort === 'id'
        ? t.id
        : sort === 'active'
          ? (t.activePack ?? '')
          : sort === 'report'
            ? (t.lastReportAt ?? '')
            : (t.lastAttempt?.code ?? t.lastAttempt?.result ?? '');
    return [...filtered].sort((a, b) => key(a).localeCompare(key(b)));
  }, [targets, filter, sort, packs]);
  if (status.status === 'loading') return <p role="status">Loading stage…</p>;
  if (status.status === 'error') return <Refusal error={status.error} />;
  const { release, why } = status.data;
  const stage = release.plan.stages[index];
  if (stage === undefined) return <Refusal error={new Error(`The plan has no stage ${index}.`)} />;
  const current = index === release.stageIndex && why !== null;
  const failedGate = release.outcome?.reasons.find((r) => r.message.includes('gate')) ?? null;
  const header = (
    <tr>
      {(
        [
          ['id', 'Target'],
          [null, 'Labels'],
          ['active', 'Active pack (desired: release pack)'],
          [null, 'Health'],
          ['report', 'Last report'],
          ['attempt', 'Last attempt'],
        ] as const
      ).map(([key, label]) => (
        <th
          key={label}
          scope="col"
          aria-sort={key !== null && key === sort ? 'ascending' : undefined}
        >
          {key === null ? (
            label
          ) : (
            <button type="button" className="sort" onClick={() => setSort(key)}>
              {label}
            </button>
          )}
        </th>
      ))}
    </tr>
  );
  return (
    <section aria-labelledby="stage-title">
      <h1 id="stage-title">
        Deploy stage {stage.name} {stage.percent}% of{' '}
        <Link to={`/releases/${encodeURIComponent(release.id)}`}>{release.id}</Link>
      </h1>
      <p>
        <strong>Policy:</strong> {policyWords(stage)}
      </p>
      <p>
        <strong>Release:</strong>{' '}
        <span className={`state state-${release.state}`}>
          {stateWord(release.state).toUpperCase()}
        </span>
        {release.state === 'paused' && release.pausedReason !== undefined
          ? ` (${release.pausedReason})`
          : ''}
        {index === release.stageIndex
          ? ', at this stage'
          : index < release.stageIndex
            ? ', past this stage'
            : ', before this stage'}
      </p>
      {current && why.stage !== null ? (
        <p>
          <strong>Current:</strong> {why.stage.onPack}/{why.stage.targets} targets on{' '}
          {packName(packs, release.pack)} of {why.stage.channelTargets} in the channel
        </p>
      ) : null}
      <table>
        <caption>Gates against their thresholds</caption>
        <thead>
          <tr>
            <th scope="col">Gate</th>
            <th scope="col">Measured</th>
            <th scope="col">Threshold</th>
            <th scope="col">Targets</th>
            <th scope="col">Samples</th>
            <th scope="col">Verdict</th>
          </tr>
        </thead>
        <tbody>
          {stage.gates.map((gate, i) => {
            const result = current ? resultOf(why.gates, gate, i) : undefined;
            return (
              <tr key={i}>
                <td>{gateWords(gate)}</td>
                <td>{result?.measured ?? '—'}</td>
                <td>{'kind' in gate ? `α ${gate.alpha}` : `${gate.op} ${gate.threshold}`}</td>
                <td>{result?.targets ?? '—'}</td>
                <td>{result?.samples ?? '—'}</td>
                <td>
                  {result === undefined
                    ? index < release.stageIndex
                      ? 'passed'
                      : '—'
                    : result.verdict}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p>
        <strong>Auto-rollback trigger:</strong>{' '}
        {release.state === 'rolled_back' && release.stageIndex === index
          ? `TRIGGERED by ${failedGate?.message ?? release.outcome?.summary ?? 'a failed gate'}`
          : 'not triggered'}
      </p>
      <h2>
        Targets ({release.env} / {release.channel})
      </h2>
      <label>
        Filter targets <input value={filter} onChange={(e) => setFilter(e.target.value)} />
      </label>
      {targets.status === 'loading' ? <p role="status">Loading targets…</p> : null}
      {targets.status === 'error' ? <Refusal error={targets.error} /> : null}
      {targets.status === 'ready' && rows.length === 0 ? <p role="status">No targets.</p> : null}
      {rows.length > 0 ? (
        <>
          <p role="status">{rows.length} targets</p>
          <VirtualRows
            label="Targets of the stage"
            rows={rows}
            rowHeight={28}
            height={420}
            header={header}
            row={(t) => (
              <tr key={t.id} style={{ height: 28 }}>
                <td>{t.id}</td>
                <td>
                  {Object.entries(t.labels)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(' ')}
                </td>
                <td>
                  {packName(packs, t.activePack)}
                  {t.activePack === release.pack ? ' ✓' : ''}
                </td>
                <td>
                  {t.lastAttempt === null
                    ? '○'
                    : t.lastAttempt.result === 'ok'
                      ? '✓ ok'
                      : '✗ failed'}
                </td>
                <td>{age(t.lastReportAt, now)}</td>
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
