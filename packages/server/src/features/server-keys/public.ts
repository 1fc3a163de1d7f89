/**
 * What other features may use of this one: lookups, the types they are handed, and the steps
 * of the decision road it owns. Anything not exported here is the feature's own (lint holds it).
 */
export { loadLogKey, logSigningKeyOf, TRANSPARENCY_LOG_KEY_USE } from './log-key.ts';
export type { LogSigningKey } from './log-key.ts';
export type { IndexSigningKey, ServerKeyService } from './server-key-service.ts';
