/** The feature as the server wires it: its store, its service and its routes. */
export { serverKeyRoutes } from './server-key-routes.ts';
export {
  CHANNEL_INDEX_KEY_USE,
  INDEX_PUBLIC_KEY_FILE,
  createServerKeyService,
} from './server-key-service.ts';
export type { ServerKeyService, ServerKeyView } from './server-key-service.ts';
export { createServerKeyStore } from './server-key-store.ts';
export type { ServerKeyStore } from './server-key-store.ts';
