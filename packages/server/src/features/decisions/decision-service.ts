import type { StoresOf } from '../../stores.ts';
import type { DecisionRecord } from './decision-store.ts';
import { loadGateReport } from './gate-report.ts';
import type { GateReport } from './gate-report.ts';

export interface DecisionService {
  /** The log in chain order, from just after `afterSeq` (0 = the start). */
  list(query: { afterSeq?: number; limit: number }): Promise<DecisionRecord[]>;
  /** How often each shadow gate of the channel agreed with how its releases ended. */
  gateReport(env: string, channel: string): Promise<GateReport>;
}

export function createDecisionService(deps: {
  stores: StoresOf<'channels' | 'releases' | 'decisions'>;
}): DecisionService {
  return {
    list: (query) => deps.stores.decisions.list(query),
    gateReport: (env, channel) => loadGateReport(deps.stores, env, channel),
  };
}
