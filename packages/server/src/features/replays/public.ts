/**
 * What other features may use of this one: lookups, the types they are handed, and the steps
 * of the decision road it owns. Anything not exported here is the feature's own (lint holds it).
 */
export {
  contextListDigests,
  EncodedContext,
  encodeListInSlices,
} from './decision-context-store.ts';
