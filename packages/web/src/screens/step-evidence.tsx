import type { DecisionRecordView, LogEntryView } from '@lockgate/api';
import { useLive } from '../app/live.tsx';
import { Link } from '../app/router.tsx';
import { canAct, useConsole } from '../app/session.tsx';
import { Refusal } from '../ui/refusal.tsx';

/** The in-toto statement a DSSE envelope carries (its payload is base64 of the JSON bytes). */
export function statementOf(entry: LogEntryView): {
  predicateType: string;
  subject: { name: string }[];
} {
  const bytes = Uint8Array.from(atob(entry.envelope.payload), (c) => c.charCodeAt(0));
  const parsed = JSON.parse(new TextDecoder().decode(bytes)) as {
    predicateType?: unknown;
    subject?: unknown;
  };
  return {
    predicateType: typeof parsed.predicateType === 'string' ? parsed.predicateType : '—',
    subject: Array.isArray(parsed.subject) ? (parsed.subject as { name: string }[]) : [],
  };
}

/**
 * Step Detail's Evidence tab: the step's signed statement (its DSSE envelope in the log) with its
 * inclusion in the latest signed checkpoint, or marked pending when no checkpoint covers it yet;
 * the other statements of the same run checkpoint; and "replay this verdict".
 */
export function StepEvidence(props: { id: string; record: DecisionRecordView }) {
  const { id, record } = props;
  const { client, session } = useConsole();
  const loaded = useLive(
    async () => {
      const [evidence, entry] = await Promise.all([
        client.evidence(id),
        client.logEntry(record.seq),
      ]);
      const checkpoint =
        evidence.checkpoints.find((c) => c.records.some((r) => r.seq === record.seq)) ?? null;
      const status =
        checkpoint?.records.find((r) => r.seq === record.seq)?.status ??
        (record.seq <= evidence.log.checkpointSize ? 'sealed' : 'pending');
      const proof = status === 'sealed' ? await client.inclusion(record.seq) : null;
      return { evidence, entry, checkpoint, status, proof };
    },
    [client, id, record.seq],
    // A checkpoint that comes to cover the record writes no change event: poll.
    { pollMs: 3000, relevant: (event) => event.release === id },
  );
  const replay = `/releases/${encodeURIComponent(id)}/replay?seq=${record.seq}`;
  return (
    <div className="step-evidence">
      {canAct(session.role) ? (
        <p>
          <Link to={replay}>Replay this verdict</Link>
        </p>
      ) : null}
      {loaded.status === 'loading' ? <p role="status">Loading the evidence…</p> : null}
      {loaded.status === 'error' ? <Refusal error={loaded.error} /> : null}
      {loaded.status === 'ready' ? <Statements {...loaded.data} record={record} id={id} /> : null}
    </div>
  );
}

function Statements(props: {
  id: string;
  record: DecisionRecordView;
  evidence: { log: { origin: string; checkpointSize: number } };
  entry: LogEntryView;
  checkpoint: { name: string; records: { seq: number; rule: string; status: string }[] } | null;
  status: string;
  proof: { treeSize: number; rootHash: string; proof: string[] } | null;
}) {
  const { id, record, evidence, entry, checkpoint, status, proof } = props;
  const statement = statementOf(entry);
  const signature = entry.envelope.signatures[0];
  return (
    <>
      <h2>Signed statement of record #{record.seq}</h2>
      <dl className="facts">
        <dt>Log inclusion</dt>
        <dd className={`record-${status}`}>
          {proof === null ? (
            <strong>
              pending: in the log, not yet covered by a signed checkpoint (latest at size{' '}
              {evidence.log.checkpointSize})
            </strong>
          ) : (
            <>
              sealed: included in the checkpoint of {evidence.log.origin} at size {proof.treeSize},
              root <code>{proof.rootHash}</code>, audit path of {proof.proof.length} hashes
            </>
          )}
        </dd>
        <dt>Leaf</dt>
        <dd>
          index {entry.leafIndex}, hash <code>{entry.leafHash}</code>
        </dd>
        <dt>Envelope</dt>
        <dd>
          DSSE <code>{entry.envelope.payloadType}</code>, signed by key{' '}
          <code title={signature?.keyid}>{signature?.keyid.slice(0, 16) ?? 'none'}</code>
        </dd>
        <dt>Statement</dt>
        <dd>
          <code>{statement.predicateType}</code> about{' '}
          {statement.subject.map((s) => s.name).join(', ') || 'nothing'}
        </dd>
        <dt>Record digest</dt>
        <dd>
          <code>{record.digest}</code>
        </dd>
      </dl>
      {checkpoint === null ? null : (
        <>
          <h2>Statements of the checkpoint {checkpoint.name}</h2>
          <ul aria-label={`Statements of ${checkpoint.name}`}>
            {checkpoint.records.map((r) => (
              <li key={r.seq} className={`record-${r.status}`}>
                {r.seq === record.seq ? (
                  <strong>
                    #{r.seq} {r.rule} (this step)
                  </strong>
                ) : (
                  <Link to={`/releases/${encodeURIComponent(id)}/steps/${r.seq}?tab=evidence`}>
                    #{r.seq} {r.rule}
                  </Link>
                )}
                : {r.status}
              </li>
            ))}
          </ul>
        </>
      )}
      <p>
        <Link to={`/releases/${encodeURIComponent(id)}/evidence`}>Evidence timeline of {id}</Link>
      </p>
    </>
  );
}
