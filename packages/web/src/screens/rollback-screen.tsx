import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import type { ReleaseView, RollbackPreviewResponse, RollbackScope } from '@lockgate/api';
import { useLive } from '../app/live.tsx';
import { Link, navigate, useLocation } from '../app/router.tsx';
import { canAct, useConsole } from '../app/session.tsx';
import { packName, stateWord } from '../ui/format.ts';
import { Refusal } from '../ui/refusal.tsx';

/** What the operator may choose: re-run a failed release, pause, roll back, or pin a pack. */
export type RollbackChoice = 'retry' | 'pause' | RollbackScope;

const CHOICES: readonly { choice: RollbackChoice; label: string }[] = [
  { choice: 'retry', label: 'Re-run the release from its first step (a failed release)' },
  { choice: 'pause', label: 'Pause the release' },
  { choice: 'rollback', label: 'Roll back the release (to the pin, else the LKG, else the base)' },
  { choice: 'pin', label: 'Return the channel to the LKG or a chosen earlier pack (pin)' },
];

/** The choices the release's state allows, the first one preselected. */
export function choicesFor(release: ReleaseView): RollbackChoice[] {
  const active = release.state === 'rolling' || release.state === 'paused';
  const out: RollbackChoice[] = [];
  if (release.state === 'failed') out.push('retry');
  if (release.state === 'rolling') out.push('pause');
  if (active) out.push('rollback');
  out.push('pin');
  return out;
}

/** How long the pin a rollback of an ended release sets lasts (then the channel follows its base). */
const PIN_EXPIRY = '7d';

/** The reason recorded: the operator's words, and the ticket when one is given. */
export function recordedReason(reason: string, ticket: string): string {
  const words = reason.trim();
  return ticket.trim() === '' ? words : `${words} (ticket ${ticket.trim()})`;
}

/**
 * Rollback / Re-run: choose the scope, see its impact and refusals first, then act with a reason.
 * `?scope=` preselects a scope the release's state allows, `?to=` the pack to return to.
 */
export function RollbackScreen({ id }: { id: string }) {
  const { client, session, packs } = useConsole();
  const release = useLive(() => client.release(id), [client, id], {
    relevant: (event) => event.release === id,
  });
  if (release.status === 'loading') return <p role="status">Loading release {id}…</p>;
  if (release.status === 'error') return <Refusal error={release.error} />;
  const view = release.data.release;
  return (
    <section aria-labelledby="rollback-title">
      <h1 id="rollback-title">Rollback / Re-run</h1>
      <p>
        Release <Link to={`/releases/${encodeURIComponent(id)}`}>{id}</Link>:{' '}
        {packName(packs, view.pack)} → {view.env}/{view.channel}, now{' '}
        <strong>{stateWord(view.state).toUpperCase()}</strong>
        {view.currentStage === null
          ? ''
          : ` (${view.currentStage.name} ${view.currentStage.percent}%)`}
      </p>
      <RollbackForm key={view.state} release={view} mayAct={canAct(session.role)} />
    </section>
  );
}

function RollbackForm(props: { release: ReleaseView; mayAct: boolean }) {
  const { release, mayAct } = props;
  const { client, packs } = useConsole();
  const choices = choicesFor(release);
  // `?scope=pin&to=DIGEST` preselects (the Run screen of a completed release links so).
  const { query } = useLocation();
  const asked = choices.find((c) => c === query.get('scope'));
  const [choice, setChoice] = useState<RollbackChoice>(asked ?? choices[0] ?? 'pin');
  const [to, setTo] = useState(query.get('to') ?? '');
  const [reason, setReason] = useState('');
  const [ticket, setTicket] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const ids = { reason: useId(), ticket: useId(), pack: useId() };
  const previewed = choice === 'rollback' || choice === 'pin';
  const preview = useLive(
    async (): Promise<RollbackPreviewResponse | null> =>
      previewed
        ? client.rollbackPreview(release.id, {
            scope: choice,
            ...(choice === 'pin' && to !== '' ? { to } : {}),
          })
        : null,
    [client, release.id, choice, to, previewed],
    { pollMs: 5000 },
  );
  const refused =
    preview.status === 'ready' && preview.data !== null && preview.data.refusals.length > 0;
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (reason.trim() === '' || refused) return;
    setBusy(true);
    setError(null);
    const why = recordedReason(reason, ticket);
    try {
      if (choice === 'pin') {
        const pack = preview.status === 'ready' ? (preview.data?.to ?? null) : null;
        if (pack === null) throw new Error('There is no pack to pin.');
        await client.setPin(release.env, release.channel, '_', {
          pack,
          reason: why,
          expiresIn: PIN_EXPIRY,
        });
      } else {
        await client.command(release.id, choice, { reason: why });
      }
      navigate(`/releases/${encodeURIComponent(release.id)}`);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  const packOptions = [...packs.values()].sort((a, b) => b.sequence - a.sequence);
  return (
    <form className="rollback" onSubmit={(event) => void submit(event)}>
      <fieldset>
        <legend>Choose action</legend>
        {CHOICES.filter((c) => choices.includes(c.choice)).map((c) => (
          <label key={c.choice} className="choice">
            <input
              type="radio"
              name="choice"
              value={c.choice}
              checked={choice === c.choice}
              onChange={() => setChoice(c.choice)}
            />{' '}
            {c.label}
          </label>
        ))}
      </fieldset>
      {choice === 'pin' ? (
        <p>
          <label htmlFor={ids.pack}>Pack to return to</label>{' '}
          <select id={ids.pack} value={to} onChange={(event) => setTo(event.target.value)}>
            <option value="">the channel&apos;s last-known-good pack</option>
            {packOptions.map((p) => (
              <option key={p.digest} value={p.digest}>
                {p.name}@{p.version} (sequence {p.sequence})
              </option>
            ))}
          </select>
        </p>
      ) : null}
      {previewed ? <Preview preview={preview} /> : null}
      {mayAct ? (
        <>
          <p>
            <label htmlFor={ids.reason}>Reason (required)</label>{' '}
            <input
              id={ids.reason}
              value={reason}
              required
              onChange={(event) => setReason(event.target.value)}
            />
          </p>
          <p>
            <label htmlFor={ids.ticket}>Ticket (optional)</label>{' '}
            <input
              id={ids.ticket}
              value={ticket}
              onChange={(event) => setTicket(event.target.value)}
            />
          </p>
          <p>
            <button
              type="submit"
              className={choice === 'pause' || choice === 'retry' ? undefined : 'danger'}
              disabled={busy || reason.trim() === '' || refused}
            >
              Execute
            </button>{' '}
            <Link to={`/releases/${encodeURIComponent(release.id)}`}>Cancel</Link>
          </p>
          <Refusal error={error} />
        </>
      ) : (
        <p role="note">Your role reads only: the preview is shown, actions are not.</p>
      )}
    </form>
  );
}

function Preview(props: { preview: ReturnType<typeof useLive<RollbackPreviewResponse | null>> }) {
  const { preview } = props;
  const { packs } = useConsole();
  if (preview.status === 'loading') return <p role="status">Computing the impact…</p>;
  if (preview.status === 'error') return <Refusal error={preview.error} />;
  const data = preview.data;
  if (data === null) return null;
  return (
    <section aria-labelledby="preview-title" className="preview">
      <h2 id="preview-title">Preview of the impact</h2>
      {data.refusals.length > 0 ? (
        <div>
          <p>The channel refuses this now:</p>
          {data.refusals.map((r) => (
            <p key={r.code + r.message} className="refusal" role="alert">
              <code>{r.code}</code> {r.message}
            </p>
          ))}
        </div>
      ) : (
        <p>
          Returns to <strong>{data.to === null ? 'the base' : packName(packs, data.to)}</strong>{' '}
          (index version {data.indexVersion} → {data.indexVersion + 1}).
        </p>
      )}
      <ul aria-label="Targets that move or stay" className="impact">
        {data.moves.map((m) => (
          <li key={`${m.from ?? ''}>${m.to ?? ''}`} data-impact="move">
            {m.targets} {m.targets === 1 ? 'target' : 'targets'} on {packName(packs, m.from)} → will
            run {packName(packs, m.to)}
          </li>
        ))}
        {data.stays.map((s) => (
          <li key={s.pack ?? ''} data-impact="stay">
            {s.targets} {s.targets === 1 ? 'target' : 'targets'} on {packName(packs, s.pack)} →
            unchanged
          </li>
        ))}
        {data.targets === 0 ? <li>No target is registered in the channel.</li> : null}
      </ul>
    </section>
  );
}
