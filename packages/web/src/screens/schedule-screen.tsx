import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import type {
  AddFreezeWindowBody,
  ReleaseStatusResponse,
  ReleaseView,
  Weekday,
} from '@lockgate/api';
import { useLive, useNow } from '../app/live.tsx';
import { Link } from '../app/router.tsx';
import { canAct, useConsole } from '../app/session.tsx';
import { ReasonAction } from '../ui/action.tsx';
import { packName, time } from '../ui/format.ts';
import { Refusal } from '../ui/refusal.tsx';
import { WeeklyWindowFields } from '../ui/weekday-picker.tsx';
import { calendar } from './schedule-model.ts';
import { PRECONDITION_MARK, preconditionsOf } from './schedule-preconditions.ts';
import { ScheduleReleaseForm } from './schedule-release-form.tsx';

/** Most scheduled releases whose preconditions are shown (the soonest first). */
const MAX_SCHEDULED = 20;

/**
 * Schedule: freezes in effect now with a one-click stop the line and lift, then the next two
 * weeks of freeze windows and scheduled releases, day by day; schedule a release; create and
 * delete freeze windows.
 */
export function ScheduleScreen() {
  const { client, session, packs } = useConsole();
  const now = useNow(60_000);
  const data = useLive(
    async () => {
      const [envs, releases, active] = await Promise.all([
        client.environments(),
        client.releases({ limit: 1000 }),
        client.freezes(),
      ]);
      const details = await Promise.all(envs.items.map((e) => client.environment(e.name)));
      // Releases that wait for their schedule, each with the status the controller's checks give.
      const scheduled = releases.items
        .filter((r) => r.state === 'requested' && r.schedule !== undefined)
        .sort((a, b) => startOf(a).localeCompare(startOf(b)) || a.id.localeCompare(b.id))
        .slice(0, MAX_SCHEDULED);
      const statuses: ReleaseStatusResponse[] = await Promise.all(
        scheduled.map((r) => client.release(r.id)),
      );
      return {
        statuses,
        envs: envs.items.map((e) => e.name),
        channels: details.flatMap((d) => d.channels),
        windows: details.flatMap((d) => d.freezeWindows),
        releases: releases.items,
        active: active.items,
      };
    },
    [client],
    {
      pollMs: 10_000,
      relevant: (event) => event.kind.startsWith('freeze') || event.release !== null,
    },
  );
  const mayAct = canAct(session.role);
  if (data.status === 'loading') return <p role="status">Loading the schedule…</p>;
  if (data.status === 'error') return <Refusal error={data.error} />;
  const { envs, channels, windows, releases, active, statuses } = data.data;
  const items = calendar(windows, releases, now);
  const stopped = active.filter((f) => f.source !== 'window');
  return (
    <section aria-labelledby="schedule-title">
      <h1 id="schedule-title">Schedule</h1>
      <div
        className={`banner ${active.length > 0 ? 'bad' : 'ok'}`}
        role="status"
        aria-label="Freezes in effect"
      >
        {active.length === 0
          ? 'No freeze in effect: releases may start and advance.'
          : `Frozen now: ${active
              .map((f) => `${f.env} until ${time(f.until)} (${f.source}: ${f.reason})`)
              .join(' | ')}`}
      </div>
      {mayAct ? (
        <div className="actions" aria-label="Stop the line">
          <ReasonAction
            label="Stop the line"
            danger
            run={async (reason) => {
              await client.stopTheLine({ reason });
              data.reload();
            }}
          />
          {stopped.length > 0 ? (
            <ReasonAction
              label="Lift"
              run={async (reason) => {
                await client.liftFreezes(reason);
                data.reload();
              }}
            />
          ) : null}
        </div>
      ) : null}
      <h2>Next 14 days</h2>
      {items.length === 0 ? (
        <p>No freeze window and no scheduled release in the next 14 days.</p>
      ) : (
        <table>
          <caption>Freeze windows and scheduled releases (UTC)</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">When</th>
              <th scope="col">Environment</th>
              <th scope="col">What</th>
              {mayAct ? <th scope="col">Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {items.map((item, i) => (
              <tr key={`${item.day}-${i}`} className={`cal-${item.kind}`}>
                <td>{items[i - 1]?.day === item.day ? '' : item.day}</td>
                <td>{item.when}</td>
                <td>{item.env}</td>
                <td>{item.text}</td>
                {mayAct ? (
                  <td>
                    {item.freezeId === undefined ? null : (
                      <ReasonAction
                        label={`Delete freeze ${item.freezeId}`}
                        danger
                        run={async (reason) => {
                          await client.removeFreezeWindow(item.env, item.freezeId ?? '', reason);
                          data.reload();
                        }}
                      />
                    )}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2 id="scheduled-title">Preconditions of scheduled releases</h2>
      <p>
        A scheduled release starts when its time and window allow and no freeze holds its
        environment; its <Link to="/releases">run</Link> says the same as it goes on.
      </p>
      {statuses.length === 0 ? (
        <p>No release waits for its schedule.</p>
      ) : (
        <ul className="scheduled" aria-labelledby="scheduled-title">
          {statuses.map(({ release, why }) => (
            <li key={release.id}>
              <Link to={`/releases/${encodeURIComponent(release.id)}`}>{release.id}</Link>{' '}
              {packName(packs, release.pack)} → {release.env}/{release.channel}: {release.reason}
              <ul aria-label={`Preconditions of ${release.id}`} className="preconditions">
                {preconditionsOf({
                  release,
                  why,
                  freezes: active,
                  channels,
                  releases,
                  packs,
                  now,
                }).map((p) => (
                  <li key={p.key} className={`pre-${p.state}`} data-precondition={p.key}>
                    <span className="mark" aria-label={p.state}>
                      {PRECONDITION_MARK[p.state]}
                    </span>{' '}
                    <strong>{p.label}</strong>: {p.text}
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
      )}
      {mayAct && channels.length > 0 ? (
        // The new release's change event refreshes the calendar; a reload would remount the form.
        <ScheduleReleaseForm channels={channels} />
      ) : null}
      {mayAct && envs.length > 0 ? (
        <NewFreezeWindow envs={envs} onDone={() => data.reload()} />
      ) : null}
    </section>
  );
}

/** When a scheduled release may first start, as a sortable string. */
function startOf(release: ReleaseView): string {
  return release.schedule?.notBefore ?? release.createdAt;
}

function NewFreezeWindow(props: { envs: readonly string[]; onDone: () => void }) {
  const { client } = useConsole();
  const [env, setEnv] = useState(props.envs[0] ?? '');
  const [kind, setKind] = useState<'once' | 'weekly'>('once');
  const [start, setStart] = useState('');
  const [end, setEnd] = useState('');
  const [days, setDays] = useState<Weekday[]>(['fri']);
  const [duration, setDuration] = useState('120');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: AddFreezeWindowBody =
        kind === 'once'
          ? {
              kind,
              reason,
              start: new Date(`${start}Z`).toISOString(),
              end: new Date(`${end}Z`).toISOString(),
            }
          : { kind, reason, days, start, durationMinutes: Number(duration) };
      await client.addFreezeWindow(env, body);
      setReason('');
      props.onDone();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="freeze-form" onSubmit={(event) => void submit(event)}>
      <h2>New freeze window</h2>
      <p>
        <label htmlFor={`${id}-env`}>Environment</label>{' '}
        <select id={`${id}-env`} value={env} onChange={(e) => setEnv(e.target.value)}>
          {props.envs.map((name) => (
            <option key={name}>{name}</option>
          ))}
        </select>{' '}
        <label htmlFor={`${id}-kind`}>Kind</label>{' '}
        <select
          id={`${id}-kind`}
          value={kind}
          onChange={(e) => setKind(e.target.value === 'weekly' ? 'weekly' : 'once')}
        >
          <option value="once">once</option>
          <option value="weekly">weekly</option>
        </select>
      </p>
      {kind === 'once' ? (
        <p>
          <label htmlFor={`${id}-start`}>Start (UTC)</label>{' '}
          <input
            id={`${id}-start`}
            type="datetime-local"
            required
            value={start}
            onChange={(e) => setStart(e.target.value)}
          />{' '}
          <label htmlFor={`${id}-end`}>End (UTC)</label>{' '}
          <input
            id={`${id}-end`}
            type="datetime-local"
            required
            value={end}
            onChange={(e) => setEnd(e.target.value)}
          />
        </p>
      ) : (
        <p>
          <WeeklyWindowFields
            id={id}
            labels={{ days: 'Days', start: 'Start (UTC, HH:MM)', minutes: 'Minutes' }}
            days={days}
            onDays={setDays}
            start={start}
            onStart={setStart}
            minutes={duration}
            onMinutes={setDuration}
          />
        </p>
      )}
      <p>
        <label htmlFor={`${id}-reason`}>Reason (required)</label>{' '}
        <input
          id={`${id}-reason`}
          required
          value={reason}
          onChange={(e) => setReason(e.target.value)}
        />{' '}
        <button type="submit" disabled={busy || reason.trim() === ''}>
          Add freeze window
        </button>
      </p>
      <Refusal error={error} />
    </form>
  );
}
