import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * API token names are principals: unique, revoked ones included, so a name in the decision log
 * means one token. `admin` is left out: every bootstrap admin token is named `admin` (one
 * principal with several tokens, as before this migration).
 */
export const tokenNames: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createIndex('api_tokens_name_unique')
      .on('api_tokens')
      .column('name')
      .unique()
      .where(sql.ref('name'), '<>', 'admin')
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('api_tokens_name_unique').execute();
  },
};
