/**
 * What other features may use of this one: lookups, the types they are handed, and the steps
 * of the decision road it owns. Anything not exported here is the feature's own (lint holds it).
 */
export { commitReleaseChange } from './release-commit.ts';
export {
  loadReleaseContext,
  lockAndReadRelease,
  readLockedRelease,
  reportWindowStartMs,
} from './release-context.ts';
export type { ReleaseContextReads } from './release-context.ts';
export { createReleaseInputs } from './release-inputs.ts';
export type { ReleaseInputs } from './release-inputs.ts';
