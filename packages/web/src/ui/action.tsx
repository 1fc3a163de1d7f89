import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import { Refusal } from './refusal.tsx';

/**
 * A button that asks for a required reason before it acts, and shows the server's refusal
 * (code and sentence) right beside it.
 */
export function ReasonAction(props: {
  label: string;
  run: (reason: string) => Promise<unknown>;
  danger?: boolean;
}) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const id = useId();
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (reason.trim() === '') return;
    setBusy(true);
    setError(null);
    try {
      await props.run(reason.trim());
      setOpen(false);
      setReason('');
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="action">
      {open ? (
        <form className="reason-form" onSubmit={(event) => void submit(event)}>
          <label htmlFor={id}>Reason for {props.label.toLowerCase()} (required)</label>
          <input
            id={id}
            value={reason}
            required
            autoFocus
            onChange={(event) => setReason(event.target.value)}
          />
          <button type="submit" disabled={busy || reason.trim() === ''}>
            Confirm {props.label.toLowerCase()}
          </button>
          <button type="button" onClick={() => setOpen(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <button
          type="button"
          className={props.danger === true ? 'danger' : undefined}
          onClick={() => {
            setOpen(true);
            setError(null);
          }}
        >
          {props.label}
        </button>
      )}
      <Refusal error={error} />
    </span>
  );
}
