/**
 * What other features may use of this one: lookups, the types they are handed, and the steps
 * of the decision road it owns. Anything not exported here is the feature's own (lint holds it).
 */
export { indexPayloadOf, indexPins } from './channel-index.ts';
export { channelMissing, environmentNotFound, findChannel, lockChannel } from './channel-lookup.ts';
export type { ChannelService, ChannelView } from './channel-service.ts';
export { channelKeyOf } from './channel-store.ts';
export type {
  ChannelKey,
  SignedIndex,
  StoredChannel,
  StoredPin,
  StoredRollbackAuthorization,
} from './channel-store.ts';
