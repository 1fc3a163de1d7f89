import type { Weekday } from '@lockgate/api';

export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** A labelled group of one checkbox per weekday (freeze windows, release schedules). */
export function WeekdayPicker(props: {
  /** the form's id prefix: the label is `${id}-days` */
  id: string;
  label: string;
  days: readonly Weekday[];
  onChange: (days: Weekday[]) => void;
}) {
  const { id, label, days, onChange } = props;
  return (
    <>
      <span id={`${id}-days`}>{label}</span>{' '}
      <span role="group" aria-labelledby={`${id}-days`}>
        {WEEKDAYS.map((day) => (
          <label key={day}>
            <input
              type="checkbox"
              checked={days.includes(day)}
              onChange={(e) =>
                onChange(e.target.checked ? [...days, day] : days.filter((d) => d !== day))
              }
            />
            {day}{' '}
          </label>
        ))}
      </span>
    </>
  );
}

/** 00:00 to 23:59 */
const HH_MM = '([01][0-9]|2[0-3]):[0-5][0-9]';

/** The fields of a weekly window: its days, its start (UTC) and its length in minutes. */
export function WeeklyWindowFields(props: {
  id: string;
  labels: { days: string; start: string; minutes: string };
  days: readonly Weekday[];
  onDays: (days: Weekday[]) => void;
  start: string;
  onStart: (start: string) => void;
  minutes: string;
  onMinutes: (minutes: string) => void;
}) {
  const { id, labels } = props;
  return (
    <>
      <WeekdayPicker id={id} label={labels.days} days={props.days} onChange={props.onDays} />{' '}
      <label htmlFor={`${id}-start`}>{labels.start}</label>{' '}
      <input
        id={`${id}-start`}
        required
        pattern={HH_MM}
        value={props.start}
        onChange={(e) => props.onStart(e.target.value)}
      />{' '}
      <label htmlFor={`${id}-minutes`}>{labels.minutes}</label>{' '}
      <input
        id={`${id}-minutes`}
        type="number"
        min={1}
        max={10080}
        required
        value={props.minutes}
        onChange={(e) => props.onMinutes(e.target.value)}
      />
    </>
  );
}
