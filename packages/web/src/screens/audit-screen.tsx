import { useLive } from '../app/live.tsx';
import { Link } from '../app/router.tsx';
import { useConsole } from '../app/session.tsx';
import type { DecisionRecordView } from '@lockgate/api';
import { time } from '../ui/format.ts';
import { Refusal } from '../ui/refusal.tsx';

/**
 * Whether the records link into one chain: sequence numbers without gaps and each record's
 * prevDigest the digest of the one before. (Recomputing each digest from its canonical JSON is
 * the evidence bundle's offline verification, which the evidence log brings.)
 */
export function chainState(records: readonly DecisionRecordView[]): {
  ok: boolean;
  message: string;
} {
  for (let i = 1; i < records.length; i += 1) {
    const previous = records[i - 1];
    const record = records[i];
    if (previous === undefined || record === undefined) continue;
    if (record.seq !== previous.seq + 1) {
      return { ok: false, message: `gap: record ${previous.seq} is followed by ${record.seq}` };
    }
    if (record.prevDigest !== previous.digest) {
      return {
        ok: false,
        message: `broken link at record ${record.seq}: its prevDigest is not the digest of ${previous.seq}`,
      };
    }
  }
  const first = records[0];
  if (first !== undefined && first.seq === 1 && first.prevDigest !== null) {
    return { ok: false, message: 'the first record names a previous digest' };
  }
  return {
    ok: true,
    message: `${records.length} records linked, seq ${first?.seq ?? 0} to ${records.at(-1)?.seq ?? 0}`,
  };
}

/** Audit log: the decision log, newest first, with its chain verification state. */
export function AuditScreen() {
  const { client } = useConsole();
  const log = useLive(async () => {
    const all: DecisionRecordView[] = [];
    for (let page = 0; page < 50; page += 1) {
      const { items } = await client.decisions(all.at(-1)?.seq ?? 0, 1000);
      all.push(...items);
      if (items.length < 1000) break;
    }
    return all;
  }, [client]);
  if (log.status === 'loading') return <p role="status">Loading the decision log…</p>;
  if (log.status === 'error') return <Refusal error={log.error} />;
  const chain = chainState(log.data);
  const shown = [...log.data].reverse().slice(0, 500);
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <p className={`banner ${chain.ok ? 'ok' : 'bad'}`} role="status">
        Chain: {chain.ok ? '✓ linked' : '✗ broken'} — {chain.message}. Each digest is recomputed
        offline by the evidence bundle verification (phase 2).
      </p>
      {log.data.length === 0 ? <p role="status">No decisions recorded yet.</p> : null}
      {shown.length > 0 ? (
        <table>
          <caption className="visually-hidden">Decision records, newest first</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">At</th>
              <th scope="col">Kind / rule</th>
              <th scope="col">Actor</th>
              <th scope="col">Scope</th>
              <th scope="col">Verdict</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.seq}>
                <td>{r.seq}</td>
                <td>{time(r.at)}</td>
                <td>
                  {r.kind} / {r.rule}
                </td>
                <td>{r.actor}</td>
                <td>
                  {r.release === null ? (
                    `${r.env ?? ''}${r.channel === null ? '' : ` / ${r.channel}`}`
                  ) : (
                    <Link to={`/releases/${encodeURIComponent(r.release)}/steps/${r.seq}`}>
                      {r.release}
                    </Link>
                  )}
                </td>
                <td>{r.verdict}</td>
                <td>{r.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
