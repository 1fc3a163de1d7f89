/**
 * The lists of the contract the console needs at run time. Types come from `@lockgate/api`
 * (imported as types only, so no schema code reaches the bundle); each list is checked against
 * its type both ways, so a state added to the contract fails the build until the console knows it.
 */
import type { ReleaseStatus } from '@lockgate/api';

/** `true` only when `List` holds every member of `Union` (`satisfies` keeps out the rest). */
type Covers<Union, List extends readonly Union[]> = [Union] extends [List[number]] ? true : never;

export const RELEASE_STATES = [
  'requested',
  'verifying',
  'rolling',
  'paused',
  'completed',
  'rolled_back',
  'aborted',
  'failed',
] as const satisfies readonly ReleaseStatus[];
const _everyState: Covers<ReleaseStatus, typeof RELEASE_STATES> = true;

export const TERMINAL_STATES: readonly ReleaseStatus[] = [
  'completed',
  'rolled_back',
  'aborted',
  'failed',
];
