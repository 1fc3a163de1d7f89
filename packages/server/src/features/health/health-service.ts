import type { Stores } from '../../stores.ts';

export interface HealthService {
  /** True when the database answers. */
  ready(): Promise<boolean>;
}

export function createHealthService(deps: { stores: Pick<Stores, 'ping'> }): HealthService {
  return {
    async ready() {
      try {
        await deps.stores.ping();
        return true;
      } catch {
        return false;
      }
    },
  };
}
