/**
 * The rollback target of a scope: the pin's pack when pinned and not revoked, else the LKG when
 * not revoked, else null (nothing safe to return to). A function of these three inputs alone, so
 * the server, the agent and a replay all get the same answer; it never returns a revoked pack.
 * Floor checks (below-floor rollback needs a rollback authorization) are the caller's.
 */
export interface RollbackInputs {
  /** the pack of the pin in effect on the scope, or null */
  pin: string | null;
  lkg: string | null;
  revoked: readonly string[];
}

export function rollbackTarget({ pin, lkg, revoked }: RollbackInputs): string | null {
  if (pin !== null && !revoked.includes(pin)) return pin;
  if (lkg !== null && !revoked.includes(lkg)) return lkg;
  return null;
}
