import { useLive } from '../app/live.tsx';
import { hrefOf, Link, useLocation } from '../app/router.tsx';
import { useConsole } from '../app/session.tsx';
import { time } from '../ui/format.ts';
import { Refusal } from '../ui/refusal.tsx';

const TABS = ['overview', 'logs', 'artifacts', 'evidence'] as const;

/** Step Detail: one decision of the run (Overview) and the records of its stage (Logs). */
export function StepScreen({ id, seq }: { id: string; seq: number }) {
  const { client } = useConsole();
  const { path, query } = useLocation();
  const tab = query.get('tab') ?? 'overview';
  const timeline = useLive(() => client.timeline(id), [client, id], {
    relevant: (event) => event.release === id,
  });
  if (timeline.status === 'loading') return <p role="status">Loading step…</p>;
  if (timeline.status === 'error') return <Refusal error={timeline.error} />;
  const records = timeline.data.items;
  const record = records.find((r) => r.seq === seq);
  if (record === undefined)
    return <Refusal error={new Error(`Release ${id} has no record ${seq}.`)} />;
  const logs = records.filter((r) => r.stageIndex === record.stageIndex);
  const next = records.find((r) => r.seq > record.seq);
  return (
    <section aria-labelledby="step-title">
      <h1 id="step-title">
        Step detail: {record.rule} of <Link to={`/releases/${encodeURIComponent(id)}`}>{id}</Link>
      </h1>
      <div role="tablist" aria-label="Step detail">
        {TABS.map((name) => (
          <Link
            key={name}
            role="tab"
            aria-selected={tab === name}
            to={hrefOf(path, { tab: name })}
            className={tab === name ? 'tab active' : 'tab'}
          >
            {name[0]?.toUpperCase()}
            {name.slice(1)}
          </Link>
        ))}
      </div>
      <div role="tabpanel" aria-label={tab}>
        {tab === 'overview' ? (
          <dl className="facts">
            <dt>Start</dt>
            <dd>{time(record.at)}</dd>
            <dt>End</dt>
            <dd>{next === undefined ? 'current' : time(next.at)}</dd>
            <dt>Result</dt>
            <dd>
              {record.verdict} ({record.from ?? '—'} → {record.to ?? '—'})
            </dd>
            <dt>Decided by</dt>
            <dd>
              {record.actor} ({record.kind} / {record.rule})
            </dd>
            <dt>Reason</dt>
            <dd>{record.reason ?? '—'}</dd>
            <dt>Decision digest</dt>
            <dd>
              <code>{record.digest}</code>
            </dd>
            <dt>Previous digest</dt>
            <dd>
              <code>{record.prevDigest ?? '—'}</code>
            </dd>
            <dt>Inputs</dt>
            <dd>
              <pre>{JSON.stringify(record.inputs, null, 2)}</pre>
            </dd>
          </dl>
        ) : null}
        {tab === 'logs' ? (
          <ol className="logs">
            {logs.map((r) => (
              <li key={r.seq}>
                <code>{time(r.at)}</code> #{r.seq} {r.kind}/{r.rule} by {r.actor}: {r.verdict}
                {r.reason === null ? '' : ` — ${r.reason}`}
              </li>
            ))}
          </ol>
        ) : null}
        {tab === 'artifacts' || tab === 'evidence' ? (
          <p role="status">
            {/* Phase 2: manifest/plan/index diff (Artifacts), signed statements and inclusion (Evidence). */}
            The {tab} of a step arrive with the evidence log.
          </p>
        ) : null}
      </div>
    </section>
  );
}
