import type { DecisionRecordView, ReleaseView } from '@lockgate/api';
import { useLive } from '../app/live.tsx';
import { hrefOf, Link, useLocation } from '../app/router.tsx';
import { useConsole } from '../app/session.tsx';
import { packName, shortDigest, time } from '../ui/format.ts';
import { Refusal } from '../ui/refusal.tsx';
import { indexAround, indexDiff } from './step-artifacts.ts';
import { StepEvidence } from './step-evidence.tsx';

const TABS = ['overview', 'logs', 'artifacts', 'evidence'] as const;

/**
 * Step Detail: one decision of the run (Overview), the records of its stage as they are appended
 * (Logs, live), what it worked on (Artifacts: pack manifest, plan, channel index fields), and its
 * signed statement with its log inclusion (Evidence).
 */
export function StepScreen({ id, seq }: { id: string; seq: number }) {
  const { client } = useConsole();
  const { path, query } = useLocation();
  const tab = query.get('tab') ?? 'overview';
  const timeline = useLive(
    async () => {
      const [status, records] = await Promise.all([client.release(id), client.timeline(id)]);
      return { release: status.release, items: records.items };
    },
    [client, id],
    { relevant: (event) => event.release === id, pollMs: 5000 },
  );
  if (timeline.status === 'loading') return <p role="status">Loading step…</p>;
  if (timeline.status === 'error') return <Refusal error={timeline.error} />;
  const records = timeline.data.items;
  const release = timeline.data.release;
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
          <ol className="logs" aria-live="polite" aria-label="Decision records of the stage">
            {logs.map((r) => (
              <li key={r.seq}>
                <code>{time(r.at)}</code> #{r.seq} {r.kind}/{r.rule} by {r.actor}: {r.verdict}
                {r.reason === null ? '' : ` — ${r.reason}`}
              </li>
            ))}
          </ol>
        ) : null}
        {tab === 'artifacts' ? (
          <Artifacts release={release} records={records} record={record} />
        ) : null}
        {tab === 'evidence' ? <StepEvidence id={id} record={record} /> : null}
      </div>
    </section>
  );
}

function Artifacts(props: {
  release: ReleaseView;
  records: readonly DecisionRecordView[];
  record: DecisionRecordView;
}) {
  const { release, records, record } = props;
  const { client, packs } = useConsole();
  const loaded = useLive(
    async () => {
      const [manifest, envelope] = await Promise.all([
        client.manifest(release.pack),
        client.channelIndex(release.env, release.channel),
      ]);
      const payload = JSON.parse(atob(envelope.payload)) as { version: number; expiresAt: string };
      return { manifest: manifest.manifest, index: payload };
    },
    [client, release.pack, release.env, release.channel],
    { relevant: (event) => event.env === release.env && event.channel === release.channel },
  );
  const { before, after } = indexAround(release, records, record.seq);
  const diff = indexDiff(before, after);
  const stage = record.stageIndex === null ? undefined : release.plan.stages[record.stageIndex];
  const word = (key: string, value: string): string =>
    key === 'rolloutPercent' || value === '—' ? value : packName(packs, value);
  return (
    <div className="artifacts">
      <h2>Channel index</h2>
      {diff.length === 0 ? (
        <p>This step changed nothing the channel index carries.</p>
      ) : (
        <table>
          <caption>
            What this step set in the index of {release.env}/{release.channel}
          </caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
            </tr>
          </thead>
          <tbody>
            {diff.map(([key, was, now]) => (
              <tr key={key}>
                <th scope="row">{key}</th>
                <td>{word(key, was)}</td>
                <td>{word(key, now)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {loaded.status === 'ready' ? (
        <p>
          Signed index now: version {loaded.data.index.version}, expires{' '}
          {time(loaded.data.index.expiresAt)}.
        </p>
      ) : null}
      <h2>Plan</h2>
      <p>
        {release.plan.name}: {release.plan.stages.map((s) => `${s.name} ${s.percent}%`).join(' → ')}
        {stage === undefined ? '' : ` (this step: ${stage.name})`}
      </p>
      <pre>{JSON.stringify(stage ?? release.plan, null, 2)}</pre>
      <h2>Pack manifest</h2>
      {loaded.status === 'loading' ? <p role="status">Loading the manifest…</p> : null}
      {loaded.status === 'error' ? <Refusal error={loaded.error} /> : null}
      {loaded.status === 'ready' ? (
        <>
          <p>
            {loaded.data.manifest.name}@{loaded.data.manifest.version} (sequence{' '}
            {loaded.data.manifest.sequence}) <code>{shortDigest(release.pack)}</code>, requires{' '}
            {Object.entries(loaded.data.manifest.requires)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ') || 'nothing'}
          </p>
          <table>
            <caption>Files</caption>
            <thead>
              <tr>
                <th scope="col">Path</th>
                <th scope="col">sha256</th>
                <th scope="col">Size</th>
              </tr>
            </thead>
            <tbody>
              {loaded.data.manifest.files.map((f) => (
                <tr key={f.path}>
                  <td>{f.path}</td>
                  <td>
                    <code>{f.sha256.slice(0, 16)}</code>
                  </td>
                  <td>{f.size}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </div>
  );
}
