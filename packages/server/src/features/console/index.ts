/** The feature as the server wires it: its store, its service and its routes. */
export { consoleRoutes } from './console-routes.ts';
export { createSignInCodes } from './sign-in-codes.ts';
export type { SignInCodes } from './sign-in-codes.ts';
