import { createContext, useContext } from 'react';
import type { ApiClient } from '../api/client.ts';
import type { ConsoleSessionView, PackSummary, TokenRole } from '@lockgate/api';

/** The signed-in token: its client, who it is, and the packs by digest (for name@version). */
export interface ConsoleContext {
  client: ApiClient;
  session: ConsoleSessionView;
  packs: ReadonlyMap<string, PackSummary>;
  signOut(): void;
}

export const SessionContext = createContext<ConsoleContext | null>(null);

export function useConsole(): ConsoleContext {
  const value = useContext(SessionContext);
  if (value === null) throw new Error('useConsole outside a signed-in console');
  return value;
}

/** Roles that may change things (the server refuses the others anyway). */
export function canAct(role: TokenRole): boolean {
  return role === 'admin' || role === 'operator';
}

export const TOKEN_KEY = 'lockgate.token';
