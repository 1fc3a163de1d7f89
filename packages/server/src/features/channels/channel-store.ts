import type { ChannelIndexRollout, Cohort, DsseEnvelope, LabelSelector } from '@lockgate/core';
import { PostgresAdapter, sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import type {
  ChannelsTable,
  Database,
  PinsTable,
  RollbackAuthorizationsTable,
} from '../../db/schema.ts';
import { readOne } from '../../db/statement-parts.ts';
import type { ReadPart, WritePart } from '../../db/statement-parts.ts';

/** One channel row: its configuration, what its index holds, and the current signed index. */
export interface StoredChannel {
  env: string;
  name: string;
  plan: string;
  floor: number | null;
  constraints: Record<string, string>;
  cohorts: Cohort[];
  indexTtlSeconds: number;
  base: string | null;
  lkg: string | null;
  rollout: ChannelIndexRollout | null;
  activeRelease: string | null;
  indexVersion: number;
  indexEnvelope: DsseEnvelope;
  indexExpiresAt: string;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

/** '_' stands for the whole channel (core's constant). */
export { WHOLE_CHANNEL } from '@lockgate/core';

export interface StoredPin {
  env: string;
  channel: string;
  /** '_' (WHOLE_CHANNEL) or a channel cohort name */
  cohort: string;
  /** the cohort's selector when the pin was set; null for the whole channel */
  selector: LabelSelector | null;
  pack: string;
  reason: string;
  actor: string;
  createdAt: string;
  expiresAt: string;
}

export interface StoredRollbackAuthorization {
  id: string;
  env: string;
  channel: string;
  pack: string;
  reason: string;
  actor: string;
  createdAt: string;
  expiresAt: string;
}

export interface ChannelKey {
  env: string;
  name: string;
}

export interface SignedIndex {
  version: number;
  envelope: DsseEnvelope;
  expiresAt: string;
}

export interface ChannelStore {
  find(env: string, name: string): Promise<StoredChannel | null>;
  /**
   * Reads the channel and locks its row until the transaction ends (a no-op UPDATE … RETURNING,
   * which takes the row lock on PostgreSQL; SQLite transactions are serial already).
   */
  lock(env: string, name: string): Promise<StoredChannel | null>;
  /**
   * `lock` as the first part of a read (`Statements.read`) whose other parts read the statement's
   * snapshot, which PostgreSQL takes before the lock is granted: on PostgreSQL the row is locked
   * only when it is still the version of that snapshot (its `xmin`), so that null says either
   * "no such channel" or "another transaction locked and committed the row while this one
   * waited": the other parts may have missed what it wrote, and the caller locks and reads again
   * (every writer of what a channel's decisions read holds this lock). On SQLite the parts run
   * one after another after this one, so the row is always locked when it exists.
   */
  lockIfUnchangedPart(env: string, name: string): ReadPart<StoredChannel | null>;
  /** The channels of an environment (all environments when env is undefined), by env and name. */
  list(env?: string): Promise<StoredChannel[]>;
  /** Inserts unless the channel exists; false when nothing was inserted. */
  insert(channel: StoredChannel): Promise<boolean>;
  /** Writes the configuration and state columns (not the index; see setIndex). */
  save(channel: StoredChannel): Promise<void>;
  /** `save` as a part of a write (`Statements.write`). */
  savePart(channel: StoredChannel): WritePart;
  /** Stores a newly signed index when the stored version is still `expectedVersion`. */
  setIndex(key: ChannelKey, index: SignedIndex, expectedVersion: number): Promise<boolean>;
  /** Makes releaseId the channel's active release unless another one is; false otherwise. */
  claimActiveRelease(key: ChannelKey, releaseId: string): Promise<boolean>;
  /** Current index versions of the given channels (missing channels are left out). */
  indexVersions(keys: readonly ChannelKey[]): Promise<Map<string, number>>;

  listPins(env: string, channel: string): Promise<StoredPin[]>;
  /** `listPins` as a part of a read (`Statements.read`). */
  listPinsPart(env: string, channel: string): ReadPart<StoredPin[]>;
  findPin(env: string, channel: string, cohort: string): Promise<StoredPin | null>;
  /** Sets the pin of a scope, replacing the one it had. */
  upsertPin(pin: StoredPin): Promise<void>;
  /** Removes and returns the pin of a scope, or null. */
  deletePin(env: string, channel: string, cohort: string): Promise<StoredPin | null>;
  /** Pins whose expiry is at or before `at`, in every channel. */
  listExpiredPins(at: string): Promise<StoredPin[]>;

  listRollbackAuthorizations(env: string, channel: string): Promise<StoredRollbackAuthorization[]>;
  /** `listRollbackAuthorizations` as a part of a read (`Statements.read`). */
  listRollbackAuthorizationsPart(
    env: string,
    channel: string,
  ): ReadPart<StoredRollbackAuthorization[]>;
  insertRollbackAuthorization(authorization: StoredRollbackAuthorization): Promise<void>;
  /** Writes the reason, actor and expiry of an authorization (by env, channel and id). */
  updateRollbackAuthorization(authorization: StoredRollbackAuthorization): Promise<void>;
  /** Removes and returns an authorization of the channel, or null. */
  deleteRollbackAuthorization(
    env: string,
    channel: string,
    id: string,
  ): Promise<StoredRollbackAuthorization | null>;
}

/** The map key of a channel in indexVersions. */
export function channelKeyOf(env: string, name: string): string {
  return `${env}/${name}`;
}

export function createChannelStore(db: Kysely<Database>): ChannelStore {
  const savePart = (channel: StoredChannel): WritePart => {
    const row = toRow(channel);
    return db
      .updateTable('channels')
      .set({
        plan: row.plan,
        floor: row.floor,
        constraints_json: row.constraints_json,
        cohorts_json: row.cohorts_json,
        index_ttl_seconds: row.index_ttl_seconds,
        base: row.base,
        lkg: row.lkg,
        rollout_json: row.rollout_json,
        active_release: row.active_release,
        updated_at: row.updated_at,
        updated_by: row.updated_by,
      })
      .where('env', '=', channel.env)
      .where('name', '=', channel.name);
  };

  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const lockIfUnchangedPart = (env: string, name: string): ReadPart<StoredChannel | null> => {
    let query = db
      .updateTable('channels')
      .set((eb) => ({ index_version: eb.ref('index_version') }))
      .where('env', '=', env)
      .where('name', '=', name);
    if (postgres) {
      // compared again on the row version the update finally locks (PostgreSQL re-checks an
      // update's condition on a row another transaction changed while it waited)
      query = query.where(
        sql`xmin`,
        '=',
        sql`(select xmin from channels where env = ${env} and name = ${name})`,
      );
    }
    return {
      query: query.returningAll(),
      decode: (rows) => {
        const row = rows[0];
        return row === undefined ? null : fromRow(row as Selectable<ChannelsTable>);
      },
    };
  };

  const listPinsPart = (env: string, channel: string): ReadPart<StoredPin[]> => ({
    query: db
      .selectFrom('pins')
      .selectAll()
      .where('env', '=', env)
      .where('channel', '=', channel)
      .orderBy('cohort'),
    decode: (rows) => rows.map((row) => pinFromRow(row as Selectable<PinsTable>)),
  });

  const listRollbackAuthorizationsPart = (
    env: string,
    channel: string,
  ): ReadPart<StoredRollbackAuthorization[]> => ({
    query: db
      .selectFrom('rollback_authorizations')
      .selectAll()
      .where('env', '=', env)
      .where('channel', '=', channel)
      .orderBy('created_at')
      .orderBy('id'),
    decode: (rows) =>
      rows.map((row) => authorizationFromRow(row as Selectable<RollbackAuthorizationsTable>)),
  });

  return {
    async find(env, name) {
      const row = await db
        .selectFrom('channels')
        .selectAll()
        .where('env', '=', env)
        .where('name', '=', name)
        .executeTakeFirst();
      return row === undefined ? null : fromRow(row);
    },

    async lock(env, name) {
      const row = await db
        .updateTable('channels')
        .set((eb) => ({ index_version: eb.ref('index_version') }))
        .where('env', '=', env)
        .where('name', '=', name)
        .returningAll()
        .executeTakeFirst();
      return row === undefined ? null : fromRow(row);
    },

    async list(env) {
      let query = db.selectFrom('channels').selectAll();
      if (env !== undefined) query = query.where('env', '=', env);
      const rows = await query.orderBy('env').orderBy('name').execute();
      return rows.map(fromRow);
    },

    async insert(channel) {
      const result = await db
        .insertInto('channels')
        .values({ ...toRow(channel), env: channel.env, name: channel.name })
        .onConflict((conflict) => conflict.columns(['env', 'name']).doNothing())
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },

    async save(channel) {
      await db.executeQuery(savePart(channel).compile());
    },

    savePart,

    async setIndex(key, index, expectedVersion) {
      const result = await db
        .updateTable('channels')
        .set({
          index_version: index.version,
          index_envelope_json: JSON.stringify(index.envelope),
          index_expires_at: index.expiresAt,
        })
        .where('env', '=', key.env)
        .where('name', '=', key.name)
        .where('index_version', '=', expectedVersion)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async claimActiveRelease(key, releaseId) {
      const result = await db
        .updateTable('channels')
        .set({ active_release: releaseId })
        .where('env', '=', key.env)
        .where('name', '=', key.name)
        .where('active_release', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async indexVersions(keys) {
      const versions = new Map<string, number>();
      if (keys.length === 0) return versions;
      const rows = await db
        .selectFrom('channels')
        .select(['env', 'name', 'index_version'])
        .where((eb) =>
          eb.or(keys.map((key) => eb.and([eb('env', '=', key.env), eb('name', '=', key.name)]))),
        )
        .execute();
      for (const row of rows) versions.set(channelKeyOf(row.env, row.name), row.index_version);
      return versions;
    },

    lockIfUnchangedPart,
    listPinsPart,

    listPins(env, channel) {
      return readOne(db, listPinsPart(env, channel));
    },

    async findPin(env, channel, cohort) {
      const row = await db
        .selectFrom('pins')
        .selectAll()
        .where('env', '=', env)
        .where('channel', '=', channel)
        .where('cohort', '=', cohort)
        .executeTakeFirst();
      return row === undefined ? null : pinFromRow(row);
    },

    async upsertPin(pin) {
      const values = {
        env: pin.env,
        channel: pin.channel,
        cohort: pin.cohort,
        selector_json: pin.selector === null ? null : JSON.stringify(pin.selector),
        pack: pin.pack,
        reason: pin.reason,
        actor: pin.actor,
        created_at: pin.createdAt,
        expires_at: pin.expiresAt,
      };
      await db
        .insertInto('pins')
        .values(values)
        .onConflict((conflict) =>
          conflict.columns(['env', 'channel', 'cohort']).doUpdateSet({
            selector_json: values.selector_json,
            pack: values.pack,
            reason: values.reason,
            actor: values.actor,
            created_at: values.created_at,
            expires_at: values.expires_at,
          }),
        )
        .execute();
    },

    async deletePin(env, channel, cohort) {
      const row = await db
        .deleteFrom('pins')
        .where('env', '=', env)
        .where('channel', '=', channel)
        .where('cohort', '=', cohort)
        .returningAll()
        .executeTakeFirst();
      return row === undefined ? null : pinFromRow(row);
    },

    async listExpiredPins(at) {
      const rows = await db
        .selectFrom('pins')
        .selectAll()
        .where('expires_at', '<=', at)
        .orderBy('env')
        .orderBy('channel')
        .orderBy('cohort')
        .execute();
      return rows.map(pinFromRow);
    },

    listRollbackAuthorizationsPart,

    listRollbackAuthorizations(env, channel) {
      return readOne(db, listRollbackAuthorizationsPart(env, channel));
    },

    async updateRollbackAuthorization(authorization) {
      await db
        .updateTable('rollback_authorizations')
        .set({
          reason: authorization.reason,
          actor: authorization.actor,
          expires_at: authorization.expiresAt,
        })
        .where('env', '=', authorization.env)
        .where('channel', '=', authorization.channel)
        .where('id', '=', authorization.id)
        .execute();
    },

    async deleteRollbackAuthorization(env, channel, id) {
      const row = await db
        .deleteFrom('rollback_authorizations')
        .where('env', '=', env)
        .where('channel', '=', channel)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
      return row === undefined ? null : authorizationFromRow(row);
    },

    async insertRollbackAuthorization(authorization) {
      await db
        .insertInto('rollback_authorizations')
        .values({
          id: authorization.id,
          env: authorization.env,
          channel: authorization.channel,
          pack: authorization.pack,
          reason: authorization.reason,
          actor: authorization.actor,
          created_at: authorization.createdAt,
          expires_at: authorization.expiresAt,
        })
        .execute();
    },
  };
}

function toRow(channel: StoredChannel): Omit<Selectable<ChannelsTable>, 'env' | 'name'> {
  return {
    plan: channel.plan,
    floor: channel.floor,
    constraints_json: JSON.stringify(channel.constraints),
    cohorts_json: JSON.stringify(channel.cohorts),
    index_ttl_seconds: channel.indexTtlSeconds,
    base: channel.base,
    lkg: channel.lkg,
    rollout_json: channel.rollout === null ? null : JSON.stringify(channel.rollout),
    active_release: channel.activeRelease,
    index_version: channel.indexVersion,
    index_envelope_json: JSON.stringify(channel.indexEnvelope),
    index_expires_at: channel.indexExpiresAt,
    created_at: channel.createdAt,
    created_by: channel.createdBy,
    updated_at: channel.updatedAt,
    updated_by: channel.updatedBy,
  };
}

function fromRow(row: Selectable<ChannelsTable>): StoredChannel {
  return {
    env: row.env,
    name: row.name,
    plan: row.plan,
    floor: row.floor === null ? null : Number(row.floor),
    constraints: JSON.parse(row.constraints_json) as Record<string, string>,
    cohorts: JSON.parse(row.cohorts_json) as Cohort[],
    indexTtlSeconds: Number(row.index_ttl_seconds),
    base: row.base,
    lkg: row.lkg,
    rollout:
      row.rollout_json === null ? null : (JSON.parse(row.rollout_json) as ChannelIndexRollout),
    activeRelease: row.active_release,
    indexVersion: Number(row.index_version),
    indexEnvelope: JSON.parse(row.index_envelope_json) as DsseEnvelope,
    indexExpiresAt: row.index_expires_at,
    createdAt: row.created_at,
    createdBy: row.created_by,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}

function pinFromRow(row: Selectable<PinsTable>): StoredPin {
  return {
    env: row.env,
    channel: row.channel,
    cohort: row.cohort,
    selector: row.selector_json === null ? null : (JSON.parse(row.selector_json) as LabelSelector),
    pack: row.pack,
    reason: row.reason,
    actor: row.actor,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

function authorizationFromRow(
  row: Selectable<RollbackAuthorizationsTable>,
): StoredRollbackAuthorization {
  return {
    id: row.id,
    env: row.env,
    channel: row.channel,
    pack: row.pack,
    reason: row.reason,
    actor: row.actor,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}
