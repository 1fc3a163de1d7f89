import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import type { DecisionRecordView, ReplayMismatchView, ReplayView } from '@lockgate/api';
import { useLive } from '../app/live.tsx';
import { Link, useLocation } from '../app/router.tsx';
import { canAct, useConsole } from '../app/session.tsx';
import { time } from '../ui/format.ts';
import { Refusal } from '../ui/refusal.tsx';
import { matchRateWords, mismatchWords, replayReason, verdictInReplay } from './replay-model.ts';

/**
 * Replay / Verify: re-run every decision of the release on the current core with a reason
 * (pre-filled for the release, or for the verdict `?seq=` names), the replay requests with their
 * status, and the determinism figures of each with every mismatch's differing field.
 */
export function ReplayScreen({ id }: { id: string }) {
  const { client, session } = useConsole();
  const { query } = useLocation();
  const seqText = query.get('seq');
  const seq = seqText === null || !/^[1-9][0-9]*$/.test(seqText) ? null : Number(seqText);
  const data = useLive(
    async () => {
      const [replays, timeline] = await Promise.all([client.replays(id), client.timeline(id)]);
      return { replays: replays.items, records: timeline.items };
    },
    [client, id],
    { pollMs: 5000, relevant: (event) => event.release === id },
  );
  const href = `/releases/${encodeURIComponent(id)}`;
  if (data.status === 'loading') return <p role="status">Loading the replays of {id}…</p>;
  if (data.status === 'error') {
    return (
      <section aria-labelledby="replay-title">
        <h1 id="replay-title">Replay / Verify {id}</h1>
        <Refusal error={data.error} />
      </section>
    );
  }
  const { replays, records } = data.data;
  const chosen = seq === null ? null : (records.find((r) => r.seq === seq) ?? null);
  const latest = replays[0];
  return (
    <section aria-labelledby="replay-title">
      <h1 id="replay-title">
        Replay / Verify <Link to={href}>{id}</Link>
      </h1>
      <p>
        A replay runs every decision of the release again on this server&apos;s core, on the context
        each decision recorded, and compares the digests. It changes nothing else.
      </p>
      {chosen === null ? null : (
        <p className="chosen">
          Chosen verdict: <Link to={`${href}/steps/${chosen.seq}`}>#{chosen.seq}</Link>{' '}
          {chosen.rule} ({chosen.verdict}) at {time(chosen.at)}
          {latest === undefined
            ? ''
            : ` — in the latest replay: ${verdictInReplay(latest, chosen)}`}
        </p>
      )}
      {seq !== null && chosen === null ? (
        <Refusal error={new Error(`Release ${id} has no record ${seq}.`)} />
      ) : null}
      {canAct(session.role) ? (
        <RequestReplay
          key={chosen?.seq ?? 0}
          id={id}
          chosen={chosen}
          onDone={() => data.reload()}
        />
      ) : (
        <p role="note">Your role reads only: replays are listed, not requested.</p>
      )}
      {data.error === undefined ? null : <Refusal error={data.error} />}
      <h2>Replay requests</h2>
      {replays.length === 0 ? (
        <p>No replay of this release has been requested yet.</p>
      ) : (
        <table>
          <caption>Replays of {id}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Replay</th>
              <th scope="col">Requested</th>
              <th scope="col">By</th>
              <th scope="col">Reason</th>
              <th scope="col">Status</th>
              <th scope="col">Core</th>
              <th scope="col">Match rate</th>
            </tr>
          </thead>
          <tbody>
            {replays.map((r) => (
              <tr key={r.id}>
                <th scope="row">
                  <a href={`#${r.id}`}>{r.id}</a>
                </th>
                <td>{time(r.createdAt)}</td>
                <td>{r.requester}</td>
                <td>{r.reason}</td>
                <td>{r.status}</td>
                <td>{r.coreVersion}</td>
                <td>{matchRateWords(r)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {replays.map((r) => (
        <ReplayFigures key={r.id} replay={r} href={href} chosen={seq} />
      ))}
    </section>
  );
}

function RequestReplay(props: {
  id: string;
  chosen: DecisionRecordView | null;
  onDone: () => void;
}) {
  const { client } = useConsole();
  const [reason, setReason] = useState(() => replayReason(props.id, props.chosen));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const field = useId();
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (reason.trim() === '') return;
    setBusy(true);
    setError(null);
    try {
      await client.replay(props.id, { reason: reason.trim() });
      props.onDone();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="replay-form" onSubmit={(event) => void submit(event)}>
      <label htmlFor={field}>Reason for the replay (required)</label>{' '}
      <input
        id={field}
        required
        size={60}
        value={reason}
        onChange={(event) => setReason(event.target.value)}
      />{' '}
      <button type="submit" disabled={busy || reason.trim() === ''}>
        {busy ? 'Replaying…' : 'Request replay'}
      </button>
      <Refusal error={error} />
    </form>
  );
}

function ReplayFigures(props: { replay: ReplayView; href: string; chosen: number | null }) {
  const { replay, href, chosen } = props;
  const titleId = `${replay.id}-title`;
  return (
    <section id={replay.id} aria-labelledby={titleId} className="replay">
      <h2 id={titleId}>
        {replay.id}: {replay.status}
      </h2>
      {replay.error === null ? null : (
        <p className="refusal" role="alert">
          <code>REPLAY_FAILED</code> {replay.error}
        </p>
      )}
      <dl className="facts figures" aria-label={`Determinism of ${replay.id}`}>
        <dt>Total</dt>
        <dd>{replay.total}</dd>
        <dt>Matching</dt>
        <dd>{replay.matching}</dd>
        <dt>Mismatches</dt>
        <dd>{replay.mismatches}</dd>
        <dt>Match rate</dt>
        <dd>{matchRateWords(replay)}</dd>
      </dl>
      {replay.mismatched.length === 0 ? (
        <p>Every replayed decision matches what was recorded.</p>
      ) : (
        <table>
          <caption>Mismatches of {replay.id}</caption>
          <thead>
            <tr>
              <th scope="col">Record</th>
              <th scope="col">Rule</th>
              <th scope="col">Differing field</th>
              <th scope="col">Recorded by</th>
              <th scope="col">Context</th>
            </tr>
          </thead>
          <tbody>
            {replay.mismatched.map((m: ReplayMismatchView) => (
              <tr key={`${m.seq}-${m.problem}`} className={m.seq === chosen ? 'chosen' : undefined}>
                <th scope="row">
                  <Link to={`${href}/steps/${m.seq}`}>#{m.seq}</Link>
                </th>
                <td>{m.rule}</td>
                <td className="wrap">{mismatchWords(m)}</td>
                <td>{m.recordedBy ?? '—'}</td>
                <td>
                  {m.contextIntact === null
                    ? '—'
                    : m.contextIntact
                      ? 'intact'
                      : 'changed since the decision'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {replay.skipped.length === 0 ? null : (
        <p>
          Not replayed: {replay.skipped.map((s) => `#${s.seq} (${s.rule}: ${s.why})`).join(', ')}
        </p>
      )}
    </section>
  );
}
