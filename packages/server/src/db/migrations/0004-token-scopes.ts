import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * What an agent token may speak for: JSON arrays of target patterns and of `ENV/CHANNEL`
 * patterns (features/tokens/token-scope.ts). Both null for admin and operator tokens, and for
 * agent tokens created before this migration, which therefore speak for nothing (fail closed).
 * One column per statement: SQLite adds a single column per ALTER TABLE.
 */
export const tokenScopes: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('api_tokens').addColumn('scope_targets_json', 'text').execute();
    await db.schema.alterTable('api_tokens').addColumn('scope_channels_json', 'text').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('api_tokens').dropColumn('scope_channels_json').execute();
    await db.schema.alterTable('api_tokens').dropColumn('scope_targets_json').execute();
  },
};
