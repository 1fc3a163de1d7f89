import type { Stores } from '../../stores.ts';
import type { DecisionRecord } from './decision-store.ts';

export interface DecisionService {
  /** The log in chain order, from just after `afterSeq` (0 = the start). */
  list(query: { afterSeq?: number; limit: number }): Promise<DecisionRecord[]>;
}

export function createDecisionService(deps: { stores: Stores }): DecisionService {
  return {
    list: (query) => deps.stores.decisions.list(query),
  };
}
