import { itemsOf, objectField } from './api-client.ts';
import type { ApiClient } from './api-client.ts';
import type { PackSummary } from '@lockgate/api';

/**
 * `name@version` of pack digests, for human listings that would otherwise show bare digests.
 * One request lists the newest packs; a digest not among them is asked for on its own (at most
 * MAX_SINGLE_LOOKUPS of them). A digest the server does not know stays bare: a listing never
 * fails for want of a name.
 */
export type PackNames = ReadonlyMap<string, string>;

const MAX_SINGLE_LOOKUPS = 20;
const LIST_LIMIT = 1000;

export async function loadPackNames(
  client: ApiClient,
  digests: Iterable<string | null | undefined>,
): Promise<PackNames> {
  const wanted = new Set<string>();
  for (const digest of digests) {
    if (typeof digest === 'string' && digest.startsWith('sha256:')) wanted.add(digest);
  }
  const names = new Map<string, string>();
  if (wanted.size === 0) return names;
  const listed = await client.request('GET', '/api/v1/packs', { query: { limit: LIST_LIMIT } });
  for (const pack of itemsOf<PackSummary>(listed.body)) {
    if (wanted.has(pack.digest)) names.set(pack.digest, `${pack.name}@${pack.version}`);
  }
  const missing = [...wanted].filter((digest) => !names.has(digest)).slice(0, MAX_SINGLE_LOOKUPS);
  for (const digest of missing) {
    try {
      const response = await client.request(
        'GET',
        `/api/v1/packs/${encodeURIComponent(digest)}/manifest`,
      );
      const pack = objectField<PackSummary>(response.body, 'pack');
      names.set(digest, `${pack.name}@${pack.version}`);
    } catch {
      // Unknown to the server (or unreadable): the digest is shown alone.
    }
  }
  return names;
}

/**
 * `sha256:… (name@version)`, the bare digest when its name is unknown, or `none`. The digest
 * comes first so that lines stay greppable by digest.
 */
export function packLabel(names: PackNames, digest: string | null | undefined): string {
  if (digest === null || digest === undefined) return 'none';
  const name = names.get(digest);
  return name === undefined ? digest : `${digest} (${name})`;
}

/** ` (name@version)` when the name is known, else nothing: for lines that place it apart. */
export function packNameSuffix(names: PackNames, digest: string): string {
  const name = names.get(digest);
  return name === undefined ? '' : ` (${name})`;
}
