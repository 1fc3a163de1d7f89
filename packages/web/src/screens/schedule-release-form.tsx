import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import type { CreateReleaseBody, ReleaseView, Weekday } from '@lockgate/api';
import { useLive } from '../app/live.tsx';
import { Link } from '../app/router.tsx';
import { useConsole } from '../app/session.tsx';
import { Refusal } from '../ui/refusal.tsx';
import { WeeklyWindowFields } from '../ui/weekday-picker.tsx';

/** The form's schedule fields as the API takes them; null when neither is set (not scheduled). */
export function scheduleOf(fields: {
  notBefore: string;
  inWindow: boolean;
  days: readonly Weekday[];
  start: string;
  minutes: string;
}): CreateReleaseBody['schedule'] | null {
  const schedule: NonNullable<CreateReleaseBody['schedule']> = {};
  if (fields.notBefore !== '') schedule.notBefore = new Date(`${fields.notBefore}Z`).toISOString();
  if (fields.inWindow) {
    schedule.window = {
      days: [...fields.days],
      start: fields.start,
      durationMinutes: Number(fields.minutes),
    };
  }
  return schedule.notBefore === undefined && schedule.window === undefined ? null : schedule;
}

/**
 * Schedule a release: pack, channel, plan and reason like any release, plus not before a time
 * (UTC) and/or only inside a weekly window. The controller starts it when both allow and no
 * freeze holds the environment; its run says what holds it until then.
 */
export function ScheduleReleaseForm(props: {
  channels: readonly { env: string; name: string; plan: string }[];
}) {
  const { client, packs } = useConsole();
  const plans = useLive(() => client.plans(), [client]);
  const first = props.channels[0];
  const [channel, setChannel] = useState(first === undefined ? '' : `${first.env}/${first.name}`);
  const packList = [...packs.values()].sort((a, b) => b.sequence - a.sequence);
  const [pack, setPack] = useState(packList[0]?.digest ?? '');
  const [plan, setPlan] = useState('');
  const [reason, setReason] = useState('');
  const [notBefore, setNotBefore] = useState('');
  const [inWindow, setInWindow] = useState(false);
  const [days, setDays] = useState<Weekday[]>(['tue', 'wed', 'thu']);
  const [start, setStart] = useState('09:00');
  const [minutes, setMinutes] = useState('240');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [made, setMade] = useState<ReleaseView | null>(null);
  const id = useId();
  const schedule = scheduleOf({ notBefore, inWindow, days, start, minutes });
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const [env = '', name = ''] = channel.split('/');
    if (reason.trim() === '' || schedule === null) return;
    setBusy(true);
    setError(null);
    try {
      const { release } = await client.createRelease({
        pack,
        env,
        channel: name,
        reason: reason.trim(),
        ...(plan === '' ? {} : { plan }),
        schedule,
      });
      setMade(release);
      setReason('');
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  const defaultPlan = props.channels.find((c) => `${c.env}/${c.name}` === channel)?.plan;
  return (
    <form className="schedule-form" onSubmit={(event) => void submit(event)}>
      <h2>Schedule a release</h2>
      <p>
        <label htmlFor={`${id}-pack`}>Pack</label>{' '}
        <select id={`${id}-pack`} value={pack} onChange={(e) => setPack(e.target.value)}>
          {packList.map((p) => (
            <option key={p.digest} value={p.digest}>
              {p.name}@{p.version} (sequence {p.sequence})
            </option>
          ))}
        </select>{' '}
        <label htmlFor={`${id}-channel`}>Channel</label>{' '}
        <select id={`${id}-channel`} value={channel} onChange={(e) => setChannel(e.target.value)}>
          {props.channels.map((c) => (
            <option key={`${c.env}/${c.name}`} value={`${c.env}/${c.name}`}>
              {c.env} / {c.name}
            </option>
          ))}
        </select>{' '}
        <label htmlFor={`${id}-plan`}>Plan</label>{' '}
        <select id={`${id}-plan`} value={plan} onChange={(e) => setPlan(e.target.value)}>
          <option value="">the channel&apos;s default ({defaultPlan ?? '—'})</option>
          {plans.status === 'ready'
            ? plans.data.items.map((p) => <option key={p.name}>{p.name}</option>)
            : null}
        </select>
      </p>
      <p>
        <label htmlFor={`${id}-not-before`}>Not before (UTC)</label>{' '}
        <input
          id={`${id}-not-before`}
          type="datetime-local"
          value={notBefore}
          onChange={(e) => setNotBefore(e.target.value)}
        />{' '}
        <label>
          <input
            type="checkbox"
            checked={inWindow}
            onChange={(e) => setInWindow(e.target.checked)}
          />{' '}
          Only inside a weekly window
        </label>
      </p>
      {inWindow ? (
        <p>
          <WeeklyWindowFields
            id={id}
            labels={{
              days: 'Window days',
              start: 'Window start (UTC, HH:MM)',
              minutes: 'Window minutes',
            }}
            days={days}
            onDays={setDays}
            start={start}
            onStart={setStart}
            minutes={minutes}
            onMinutes={setMinutes}
          />
        </p>
      ) : null}
      <p>
        <label htmlFor={`${id}-reason`}>Release reason (required)</label>{' '}
        <input
          id={`${id}-reason`}
          required
          value={reason}
          onChange={(e) => setReason(e.target.value)}
        />{' '}
        <button
          type="submit"
          disabled={busy || reason.trim() === '' || schedule === null || pack === ''}
        >
          Schedule release
        </button>
      </p>
      {schedule === null ? (
        <p className="hint">Set a time it may not start before, or a weekly window, or both.</p>
      ) : null}
      {made === null ? null : (
        <p role="status">
          Scheduled <Link to={`/releases/${encodeURIComponent(made.id)}`}>{made.id}</Link> (
          {made.state}); its run says what holds it.
        </p>
      )}
      <Refusal error={error} />
    </form>
  );
}
