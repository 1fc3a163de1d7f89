import { ApiError } from '../api/client.ts';

/** An API refusal: its stable code and its sentence, announced to screen readers. */
export function Refusal({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  const code = error instanceof ApiError ? error.code : 'ERROR';
  const message =
    error instanceof Error
      ? error.message
      : typeof error === 'string'
        ? error
        : 'Something went wrong.';
  return (
    <p className="refusal" role="alert">
      <code>{code}</code> {message}
    </p>
  );
}
