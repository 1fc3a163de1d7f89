/**
 * What other features may use of this one: lookups, the types they are handed, and the steps
 * of the decision road it owns. Anything not exported here is the feature's own (lint holds it).
 */
export {
  channelPackOf,
  commitChannelChange,
  commitLockedChannel,
  commitNewChannel,
  commitPackRevocation,
  channelRowsOf,
  loadChannelRows,
  loadChannelState,
  namedPackOf,
  newRollbackAuthorizationId,
  recordDecisions,
} from './commit-road.ts';
export type { ChannelRows } from './commit-road.ts';
export { draftOf } from './decision-log.ts';
export type { DecisionRecordDraft } from './decision-log.ts';
export type { DecisionService } from './decision-service.ts';
export type { DecisionRecord } from './decision-store.ts';
