import type { BlobStore } from './blob-store.ts';
import type { Clock } from './clock.ts';
import type { ServerConfig } from './config.ts';
import { createBuildService } from './features/builds/build-service.ts';
import type { BuildService } from './features/builds/build-service.ts';
import { createHealthService } from './features/health/health-service.ts';
import type { HealthService } from './features/health/health-service.ts';
import { createPackService } from './features/packs/pack-service.ts';
import type { PackService } from './features/packs/pack-service.ts';
import { createTokenService } from './features/tokens/token-service.ts';
import type { TokenService } from './features/tokens/token-service.ts';
import { createTrustService } from './features/trust/trust-service.ts';
import type { TrustService } from './features/trust/trust-service.ts';
import type { Stores } from './stores.ts';

export interface Services {
  readonly packs: PackService;
  readonly builds: BuildService;
  readonly trust: TrustService;
  readonly tokens: TokenService;
  readonly health: HealthService;
}

export function createServices(
  config: ServerConfig,
  stores: Stores,
  blobs: BlobStore,
  clock: Clock,
): Services {
  return Object.freeze({
    packs: createPackService({ stores, blobs, clock }),
    builds: createBuildService({ stores, clock }),
    trust: createTrustService({ stores, clock }),
    tokens: createTokenService({ config, stores, clock }),
    health: createHealthService({ stores }),
  });
}
