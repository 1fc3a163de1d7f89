import type { PackSummary } from '@lockgate/api';

/** `sha256:abcdef012345…` → `abcdef012345`. */
export function shortDigest(digest: string | null | undefined): string {
  if (digest === null || digest === undefined) return '—';
  const hex = digest.startsWith('sha256:') ? digest.slice(7) : digest;
  return hex.slice(0, 12);
}

/** `kb@2.0.0` when the pack is known, else its short digest. */
export function packName(
  packs: ReadonlyMap<string, PackSummary>,
  digest: string | null | undefined,
): string {
  if (digest === null || digest === undefined) return '—';
  const pack = packs.get(digest);
  return pack === undefined ? shortDigest(digest) : `${pack.name}@${pack.version}`;
}

/** `2026-01-01 10:00:00` in UTC, or — . */
export function time(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  return iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}

/** Seconds as `2m 10s`, `1h 5m`, `45s`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 === 0 ? '' : ` ${s % 60}s`}`;
  const m = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)}h${m === 0 ? '' : ` ${m}m`}`;
}

/** How long ago `iso` was, from `now`. */
export function age(iso: string | null | undefined, now: number): string {
  if (iso === null || iso === undefined) return 'never';
  return `${duration((now - Date.parse(iso)) / 1000)} ago`;
}

export function stateWord(state: string): string {
  return state.replace('_', ' ');
}
