/** The feature as the server wires it: its store, its service and its routes. */
export { createChannelEvents } from './channel-events.ts';
export type { ChannelEvents } from './channel-events.ts';
export { channelRoutes } from './channel-routes.ts';
export { createChannelService } from './channel-service.ts';
export type {
  ChannelService,
  ChannelView,
  PinView,
  RollbackAuthorizationView,
} from './channel-service.ts';
export { createChannelStore } from './channel-store.ts';
export type { ChannelKey, ChannelStore } from './channel-store.ts';
