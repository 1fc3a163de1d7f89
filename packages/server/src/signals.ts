import type { ChannelKey } from './features/channels/index.ts';

/**
 * What a committed change tells the rest of the process: a channel index has a new version
 * (SSE subscribers are told) and the controller should look again soon (debounced).
 */
export interface Signals {
  indexChanged(key: ChannelKey, version: number): void;
  wakeController(): void;
}
