import type { Migration, MigrationProvider } from 'kysely/migration';
import { foundation } from './0001-foundation.ts';
import { releases } from './0002-releases.ts';
import { tokenNames } from './0003-token-names.ts';
import { tokenScopes } from './0004-token-scopes.ts';
import { transparencyLog } from './0005-transparency-log.ts';
import { webhooks } from './0006-webhooks.ts';
import { replays } from './0008-replays.ts';
import { channelCounters } from './0009-channel-counters.ts';
import { operationsJobs } from './0011-operations-jobs.ts';
import { changeNotifications } from './0013-change-notifications.ts';
import { failedAttemptsIndex } from './0014-failed-attempts-index.ts';
import { changePollIndexes } from './0015-change-poll-indexes.ts';

/** Every migration, keyed by a name that sorts in the order they must run. Append only. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001-foundation': foundation,
  '0002-releases': releases,
  '0003-token-names': tokenNames,
  '0004-token-scopes': tokenScopes,
  '0005-transparency-log': transparencyLog,
  '0006-webhooks': webhooks,
  '0008-replays': replays,
  '0009-channel-counters': channelCounters,
  '0011-operations-jobs': operationsJobs,
  '0013-change-notifications': changeNotifications,
  '0014-failed-attempts-index': failedAttemptsIndex,
  '0015-change-poll-indexes': changePollIndexes,
});

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve({ ...MIGRATIONS }),
};
