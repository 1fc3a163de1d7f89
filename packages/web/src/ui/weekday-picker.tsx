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
