export { createRuntime, lookupFails } from './runtime.ts';
export type { Runtime, RuntimeOptions, RuntimeStatus } from './runtime.ts';
export {
  DATA_FILE,
  DEFAULT_SETTINGS,
  PACK_INFO_FILE,
  SETTINGS_FILE,
  loadPack,
  parseSettings,
} from './pack-loader.ts';
export type { LoadedPack, RuntimeSettings } from './pack-loader.ts';
export { DURATION_BUCKETS, METRICS_CONTENT_TYPE } from './metrics.ts';
