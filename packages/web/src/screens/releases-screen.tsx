import { RELEASE_STATES } from '../api/vocabulary.ts';
import type { PackSummary, ReleaseStatus, ReleaseView } from '@lockgate/api';
import { hrefOf, Link, navigate, useLocation } from '../app/router.tsx';
import { useLive } from '../app/live.tsx';
import { useConsole } from '../app/session.tsx';
import { packName, shortDigest, stateWord, time } from '../ui/format.ts';
import { Refusal } from '../ui/refusal.tsx';
import { VirtualRows } from '../ui/virtual-list.tsx';

/** Longer lists keep only the rows in view in the document (1,000 releases stay responsive). */
const VIRTUAL_ABOVE = 100;

const HEADER = (
  <tr>
    <th scope="col">Release</th>
    <th scope="col">Pack</th>
    <th scope="col">Env / channel</th>
    <th scope="col">State</th>
    <th scope="col">Stage</th>
    <th scope="col">Started</th>
    <th scope="col">Owner</th>
    <th scope="col">Reason</th>
  </tr>
);

function releaseRow(release: ReleaseView, packs: ReadonlyMap<string, PackSummary>) {
  return (
    <tr key={release.id}>
      <td>
        <Link to={`/releases/${encodeURIComponent(release.id)}`}>{release.id}</Link>
      </td>
      <td>
        {packName(packs, release.pack)} <code>{shortDigest(release.pack)}</code>
      </td>
      <td>
        {release.env} / {release.channel}
      </td>
      <td>
        <span className={`state state-${release.state}`}>{stateWord(release.state)}</span>
      </td>
      <td>
        {release.currentStage === null
          ? '—'
          : `${release.currentStage.name} ${release.currentStage.percent}%`}
      </td>
      <td>{time(release.createdAt)}</td>
      <td>{release.requestedBy}</td>
      <td>{release.reason}</td>
    </tr>
  );
}

/** Every release, newest first, filtered by env, channel, state and pack (all in the URL). */
export function ReleasesScreen() {
  const { client, packs } = useConsole();
  const { query } = useLocation();
  const env = query.get('env') ?? '';
  const channel = query.get('channel') ?? '';
  const state = query.get('state') ?? '';
  const pack = query.get('pack') ?? '';
  const releases = useLive(
    () =>
      client.releases({
        ...(env === '' ? {} : { env }),
        ...(channel === '' ? {} : { channel }),
        ...(state === '' ? {} : { state: state as ReleaseStatus }),
        limit: 1000,
      }),
    [client, env, channel, state],
    { pollMs: 5000, relevant: (event) => event.release !== null },
  );
  const set = (key: string, value: string): void => {
    navigate(hrefOf('/releases', { env, channel, state, pack, [key]: value }), { replace: true });
  };
  const items =
    releases.status === 'ready'
      ? releases.data.items.filter(
          (release) =>
            pack === '' ||
            release.pack === pack ||
            packName(packs, release.pack).includes(pack) ||
            release.pack.includes(pack),
        )
      : [];
  return (
    <section aria-labelledby="releases-title">
      <h1 id="releases-title">Releases</h1>
      <form className="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          Environment <input value={env} onChange={(e) => set('env', e.target.value)} />
        </label>
        <label>
          Channel <input value={channel} onChange={(e) => set('channel', e.target.value)} />
        </label>
        <label>
          State{' '}
          <select value={state} onChange={(e) => set('state', e.target.value)}>
            <option value="">any</option>
            {RELEASE_STATES.map((s) => (
              <option key={s} value={s}>
                {stateWord(s)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Pack <input value={pack} onChange={(e) => set('pack', e.target.value)} />
        </label>
      </form>
      {releases.status === 'loading' ? <p role="status">Loading releases…</p> : null}
      {releases.status === 'error' ? <Refusal error={releases.error} /> : null}
      {releases.status === 'ready' && items.length === 0 ? (
        <p role="status">No releases match.</p>
      ) : null}
      {items.length > 0 && items.length <= VIRTUAL_ABOVE ? (
        <table>
          <caption className="visually-hidden">Releases, newest first</caption>
          <thead>{HEADER}</thead>
          <tbody>{items.map((release) => releaseRow(release, packs))}</tbody>
        </table>
      ) : null}
      {items.length > VIRTUAL_ABOVE ? (
        <VirtualRows
          label="Releases, newest first"
          rows={items}
          rowHeight={33}
          height={640}
          header={HEADER}
          row={(release) => releaseRow(release, packs)}
        />
      ) : null}
    </section>
  );
}
