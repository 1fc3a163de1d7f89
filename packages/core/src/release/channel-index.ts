/**
 * The channel index (DESIGN.md §7): the one signed document every agent of a channel trusts.
 *
 * Payload schema `lockgate.channel-index/v1` (unknown fields refused). It is signed as a DSSE
 * envelope, payloadType `application/vnd.lockgate.channel-index+json`, payload = base64 of the
 * JCS (RFC 8785) bytes of the payload, each signature an Ed25519 signature over the DSSE
 * pre-authentication encoding PAE(type, body) =
 *   "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body     (LEN = decimal byte length).
 * Verification is fail closed, in this order: envelope shape and payload type (INDEX_INVALID),
 * a signature whose keyid is trusted (INDEX_SIGNER_UNTRUSTED) and verifies
 * (INDEX_SIGNATURE_INVALID), payload schema and, when expected, env/channel (INDEX_INVALID),
 * expiry `now < expiresAt` (INDEX_EXPIRED), version ≥ the highest version already seen
 * (INDEX_REPLAYED; the same version again is accepted).
 */
import type { KeyObject } from 'node:crypto';
import { canonicalBytes } from '../canonical-json.ts';
import { isDigest } from '../digest.ts';
import { LockgateError } from '../errors.ts';
import { signBytes, verifyBytes } from '../signing.ts';
import type { CohortBucket } from './bucket.ts';
import { cohortSaltOf } from './bucket.ts';
import { isoOf, parseTime, toMillis } from './instant.ts';
import type { Instant } from './instant.ts';
import { isUnexpired } from './pin.ts';
import type { Pin, RollbackAuthorization } from './pin.ts';
import type { ReleaseState } from './release-state.ts';
import { selectorProblems } from './selector.ts';
import type { Cohort, LabelSelector } from './selector.ts';

export const CHANNEL_INDEX_SCHEMA = 'lockgate.channel-index/v1';
export const CHANNEL_INDEX_PAYLOAD_TYPE = 'application/vnd.lockgate.channel-index+json';

export interface IndexPackInfo {
  name: string;
  version: string;
  sequence: number;
}

export interface ChannelIndexRollout {
  release: string;
  pack: string;
  salt: string;
  percent: number;
  /** the rollout reaches targets matching any of these; [] = every target of the channel */
  cohorts: LabelSelector[];
  /** when the stage's cohort has a percentage: only targets inside this bucket are reached */
  bucket?: CohortBucket;
}

export interface ChannelIndexPayload {
  schema: typeof CHANNEL_INDEX_SCHEMA;
  env: string;
  channel: string;
  version: number;
  issuedAt: string;
  expiresAt: string;
  packs: Record<string, IndexPackInfo>;
  base: string | null;
  rollout: ChannelIndexRollout | null;
  pins: Pin[];
  floor: number | null;
  revoked: string[];
  rollbackAuthorizations: RollbackAuthorization[];
}

export interface DsseSignature {
  keyid: string;
  sig: string;
}

export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: DsseSignature[];
}

/** A key the verifier trusts (a `PublicKeyInfo` from signing.ts fits). */
export interface TrustedIndexKey {
  keyId: string;
  key: KeyObject;
}

const PAYLOAD_FIELDS = [
  'schema',
  'env',
  'channel',
  'version',
  'issuedAt',
  'expiresAt',
  'packs',
  'base',
  'rollout',
  'pins',
  'floor',
  'revoked',
  'rollbackAuthorizations',
];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function exactFields(
  value: Record<string, unknown>,
  fields: readonly string[],
  path: string,
  optional: readonly string[] = [],
): string[] {
  const problems: string[] = [];
  for (const field of Object.keys(value)) {
    if (!fields.includes(field) && !optional.includes(field))
      problems.push(`${path}.${field} is not a known field`);
  }
  for (const field of fields) {
    if (!Object.hasOwn(value, field)) problems.push(`${path}.${field} is missing`);
  }
  return problems;
}

function bucketProblems(value: Record<string, unknown>, path: string): string[] {
  if (!Object.hasOwn(value, 'bucket')) return [];
  const b = value.bucket;
  if (!isObject(b)) return [`${path}.bucket must be an object`];
  const problems = exactFields(b, ['salt', 'percent'], `${path}.bucket`);
  if (!nonEmpty(b.salt)) problems.push(`${path}.bucket.salt must be a non-empty string`);
  if (typeof b.percent !== 'number' || !(b.percent >= 0 && b.percent <= 100)) {
    problems.push(`${path}.bucket.percent must be a number in 0..100`);
  }
  return problems;
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

/** Problems of an unknown value as a channel index payload; empty when valid. */
export function channelIndexProblems(value: unknown): string[] {
  if (!isObject(value)) return ['index must be an object'];
  const problems = exactFields(value, PAYLOAD_FIELDS, 'index');
  if (value.schema !== CHANNEL_INDEX_SCHEMA)
    problems.push(`index.schema must be ${CHANNEL_INDEX_SCHEMA}`);
  if (!nonEmpty(value.env)) problems.push('index.env must be a non-empty string');
  if (!nonEmpty(value.channel)) problems.push('index.channel must be a non-empty string');
  if (!Number.isSafeInteger(value.version) || (value.version as number) < 0) {
    problems.push('index.version must be an integer ≥ 0');
  }
  const issuedAt = parseTime(value.issuedAt);
  const expiresAt = parseTime(value.expiresAt);
  if (issuedAt === null) problems.push('index.issuedAt must be an RFC 3339 time');
  if (expiresAt === null) problems.push('index.expiresAt must be an RFC 3339 time');
  if (issuedAt !== null && expiresAt !== null && expiresAt <= issuedAt) {
    problems.push('index.expiresAt must be after issuedAt');
  }
  const packs = isObject(value.packs) ? value.packs : null;
  if (packs === null) problems.push('index.packs must be an object');
  else {
    for (const [digest, info] of Object.entries(packs)) {
      const path = `index.packs["${digest}"]`;
      if (!isDigest(digest)) problems.push(`${path} key is not a sha256 digest`);
      if (!isObject(info)) {
        problems.push(`${path} must be an object`);
        continue;
      }
      problems.push(...exactFields(info, ['name', 'version', 'sequence'], path));
      if (!nonEmpty(info.name) || !nonEmpty(info.version))
        problems.push(`${path} needs a name and version`);
      if (!Number.isSafeInteger(info.sequence) || (info.sequence as number) < 0) {
        problems.push(`${path}.sequence must be an integer ≥ 0`);
      }
    }
  }
  const listed = (pack: unknown, path: string): void => {
    if (!isDigest(pack)) problems.push(`${path} must be a sha256 digest`);
    else if (packs !== null && !Object.hasOwn(packs, pack))
      problems.push(`${path} is not in index.packs`);
  };
  if (value.base !== null) listed(value.base, 'index.base');
  if (value.rollout !== null) {
    const rollout = value.rollout;
    if (!isObject(rollout)) problems.push('index.rollout must be an object or null');
    else {
      problems.push(
        ...exactFields(
          rollout,
          ['release', 'pack', 'salt', 'percent', 'cohorts'],
          'index.rollout',
          ['bucket'],
        ),
        ...bucketProblems(rollout, 'index.rollout'),
      );
      if (!nonEmpty(rollout.release))
        problems.push('index.rollout.release must be a non-empty string');
      listed(rollout.pack, 'index.rollout.pack');
      if (!nonEmpty(rollout.salt)) problems.push('index.rollout.salt must be a non-empty string');
      const { percent } = rollout;
      if (typeof percent !== 'number' || !(percent >= 0 && percent <= 100)) {
        problems.push('index.rollout.percent must be a number in 0..100');
      }
      if (!Array.isArray(rollout.cohorts)) problems.push('index.rollout.cohorts must be an array');
      else {
        const cohorts: unknown[] = rollout.cohorts;
        cohorts.forEach((c, i) =>
          problems.push(...selectorProblems(c, `index.rollout.cohorts[${i}]`)),
        );
      }
    }
  }
  if (!Array.isArray(value.pins)) problems.push('index.pins must be an array');
  else {
    const pins: unknown[] = value.pins;
    pins.forEach((pin, i) => {
      const path = `index.pins[${i}]`;
      if (!isObject(pin)) {
        problems.push(`${path} must be an object`);
        return;
      }
      problems.push(
        ...exactFields(pin, ['cohort', 'pack', 'expiresAt', 'reason'], path, ['bucket']),
        ...bucketProblems(pin, path),
      );
      if (pin.cohort !== null) problems.push(...selectorProblems(pin.cohort, `${path}.cohort`));
      listed(pin.pack, `${path}.pack`);
      if (parseTime(pin.expiresAt) === null)
        problems.push(`${path}.expiresAt must be an RFC 3339 time`);
      if (typeof pin.reason !== 'string') problems.push(`${path}.reason must be a string`);
    });
  }
  if (value.floor !== null && (!Number.isSafeInteger(value.floor) || (value.floor as number) < 0)) {
    problems.push('index.floor must be an integer ≥ 0 or null');
  }
  if (!Array.isArray(value.revoked) || !value.revoked.every((d) => isDigest(d))) {
    problems.push('index.revoked must be an array of sha256 digests');
  }
  if (!Array.isArray(value.rollbackAuthorizations)) {
    problems.push('index.rollbackAuthorizations must be an array');
  } else {
    const authorizations: unknown[] = value.rollbackAuthorizations;
    authorizations.forEach((a, i) => {
      const path = `index.rollbackAuthorizations[${i}]`;
      if (!isObject(a)) {
        problems.push(`${path} must be an object`);
        return;
      }
      problems.push(...exactFields(a, ['pack', 'reason', 'expiresAt'], path));
      if (!isDigest(a.pack)) problems.push(`${path}.pack must be a sha256 digest`);
      if (typeof a.reason !== 'string') problems.push(`${path}.reason must be a string`);
      if (parseTime(a.expiresAt) === null)
        problems.push(`${path}.expiresAt must be an RFC 3339 time`);
    });
  }
  return problems;
}

/** Checks an unknown value as a channel index payload; INDEX_INVALID with details.problems. */
export function validateChannelIndex(value: unknown): ChannelIndexPayload {
  const problems = channelIndexProblems(value);
  if (problems.length > 0) {
    throw new LockgateError('INDEX_INVALID', `The channel index is malformed: ${problems[0]}.`, {
      details: { problems },
    });
  }
  return value as ChannelIndexPayload;
}

export interface ChannelIndexInput {
  env: string;
  channel: string;
  version: number;
  issuedAt: Instant;
  ttlSeconds: number;
  /** metadata of every pack the index may reference (more may be given; only referenced ones are kept) */
  packs: Record<string, IndexPackInfo>;
  base: string | null;
  rollout: ChannelIndexRollout | null;
  pins: readonly Pin[];
  floor: number | null;
  revoked: readonly string[];
  rollbackAuthorizations: readonly RollbackAuthorization[];
}

/**
 * Builds a channel index payload from the channel state: pins and rollback authorizations
 * already expired at `issuedAt` are dropped, `packs` keeps the referenced packs only, `revoked`
 * is sorted and unique. Throws INDEX_INVALID when the result is not a valid index (e.g. a
 * referenced pack without metadata).
 */
export function buildChannelIndex(input: ChannelIndexInput): ChannelIndexPayload {
  const issuedMs = toMillis(input.issuedAt, 'issuedAt');
  const pins = input.pins
    .filter((p) => isUnexpired(p.expiresAt, input.issuedAt))
    .map((p) => structuredClone(p));
  const rollbackAuthorizations = input.rollbackAuthorizations
    .filter((a) => isUnexpired(a.expiresAt, input.issuedAt))
    .map((a) => ({ ...a }));
  const referenced = new Set<string>();
  if (input.base !== null) referenced.add(input.base);
  if (input.rollout !== null) referenced.add(input.rollout.pack);
  for (const pin of pins) referenced.add(pin.pack);
  for (const a of rollbackAuthorizations)
    if (Object.hasOwn(input.packs, a.pack)) referenced.add(a.pack);
  const packs: Record<string, IndexPackInfo> = {};
  for (const digest of [...referenced].sort()) {
    const info = input.packs[digest];
    if (info !== undefined)
      packs[digest] = { name: info.name, version: info.version, sequence: info.sequence };
  }
  return validateChannelIndex({
    schema: CHANNEL_INDEX_SCHEMA,
    env: input.env,
    channel: input.channel,
    version: input.version,
    issuedAt: isoOf(issuedMs),
    expiresAt: isoOf(issuedMs + input.ttlSeconds * 1000),
    packs,
    base: input.base,
    rollout: input.rollout === null ? null : structuredClone(input.rollout),
    pins,
    floor: input.floor,
    revoked: [...new Set(input.revoked)].sort(),
    rollbackAuthorizations,
  });
}

/**
 * How a channel cohort narrows a rollout or a pin in the index: its selector (`{}`, every target,
 * when it has none) and, when it has a percentage, its bucket, salted per channel
 * (`cohortSaltOf`), so the same targets stay in the cohort across releases and pins.
 */
export function cohortScope(
  cohort: Cohort,
  channel: { env: string; channel: string },
): { selector: LabelSelector; bucket?: CohortBucket } {
  const selector = structuredClone(cohort.selector ?? {});
  if (cohort.percent === undefined) return { selector };
  return {
    selector,
    bucket: { salt: cohortSaltOf(channel.env, channel.channel), percent: cohort.percent },
  };
}

/**
 * The rollout entry of the index for a started stage: the release id is the salt (so a release's
 * 10% ⊂ 50% ⊂ 100%), the stage percent, and the stage cohort's scope (its selector and, for a
 * percentage cohort, its bucket) when the stage names one. COHORT_INVALID when the channel has
 * no such cohort.
 */
export function stageRollout(
  stage: { release: string; pack: string; percent: number; cohort: string | null },
  channel: { env: string; channel: string; cohorts: readonly Cohort[] },
): ChannelIndexRollout {
  const rollout: ChannelIndexRollout = {
    release: stage.release,
    pack: stage.pack,
    salt: stage.release,
    percent: stage.percent,
    cohorts: [],
  };
  if (stage.cohort === null) return rollout;
  const cohort = channel.cohorts.find((c) => c.name === stage.cohort);
  if (cohort === undefined) {
    throw new LockgateError(
      'COHORT_INVALID',
      `Cohort "${stage.cohort}" is not a cohort of channel ${channel.env}/${channel.channel}.`,
      { details: { release: stage.release, cohort: stage.cohort } },
    );
  }
  const scope = cohortScope(cohort, channel);
  rollout.cohorts.push(scope.selector);
  if (scope.bucket !== undefined) rollout.bucket = scope.bucket;
  return rollout;
}

/**
 * The rollout entry of the index for a release: the last started stage's percent and its cohort's
 * scope (`stageRollout`), or null when nothing is rolling out (not yet started, ended).
 */
export function rolloutOf(
  release: ReleaseState,
  options: { salt: string; cohorts: readonly Cohort[] },
): ChannelIndexRollout | null {
  if (release.state !== 'rolling' && release.state !== 'paused') return null;
  const index = release.stageStartedAt === null ? release.stageIndex - 1 : release.stageIndex;
  const stage = release.plan.stages[index];
  if (stage === undefined) return null;
  const rollout = stageRollout(
    {
      release: release.id,
      pack: release.pack,
      percent: stage.percent,
      cohort: stage.cohort ?? null,
    },
    { env: release.env, channel: release.channel, cohorts: options.cohorts },
  );
  return { ...rollout, salt: options.salt };
}

/** DSSE v1 pre-authentication encoding. */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = Buffer.from(payloadType, 'utf8');
  const head = Buffer.from(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `, 'utf8');
  return Buffer.concat([head, payload]);
}

/** Signs a (validated) channel index payload as a DSSE envelope with an Ed25519 private key. */
export function signChannelIndex(
  payload: ChannelIndexPayload,
  privateKey: KeyObject,
  keyId: string,
): DsseEnvelope {
  const checked = validateChannelIndex(payload);
  const body = canonicalBytes(checked);
  const sig = signBytes(preAuthEncoding(CHANNEL_INDEX_PAYLOAD_TYPE, body), privateKey);
  return {
    payloadType: CHANNEL_INDEX_PAYLOAD_TYPE,
    payload: Buffer.from(body).toString('base64'),
    signatures: [{ keyid: keyId, sig }],
  };
}

function indexError(
  code:
    | 'INDEX_INVALID'
    | 'INDEX_SIGNATURE_INVALID'
    | 'INDEX_SIGNER_UNTRUSTED'
    | 'INDEX_EXPIRED'
    | 'INDEX_REPLAYED',
  message: string,
  details: Record<string, unknown> = {},
): LockgateError {
  return new LockgateError(code, message, { details });
}

function strictBase64(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

export interface VerifyIndexOptions {
  now: Instant;
  /** the highest index version this verifier accepted before; null/undefined for none */
  highestSeenVersion?: number | null;
  /** when given, the index must be for this env and channel */
  env?: string;
  channel?: string;
}

/** Verifies a DSSE channel index envelope and returns its payload; fail closed (see header). */
export function verifyChannelIndex(
  envelope: unknown,
  trustedKeys: readonly TrustedIndexKey[],
  options: VerifyIndexOptions,
): ChannelIndexPayload {
  if (
    !isObject(envelope) ||
    typeof envelope.payloadType !== 'string' ||
    typeof envelope.payload !== 'string' ||
    !Array.isArray(envelope.signatures)
  ) {
    throw indexError('INDEX_INVALID', 'The channel index is not a DSSE envelope.');
  }
  if (envelope.payloadType !== CHANNEL_INDEX_PAYLOAD_TYPE) {
    throw indexError(
      'INDEX_INVALID',
      `The envelope payload type is ${envelope.payloadType}, not ${CHANNEL_INDEX_PAYLOAD_TYPE}.`,
    );
  }
  const body = strictBase64(envelope.payload);
  if (body === null) throw indexError('INDEX_INVALID', 'The envelope payload is not base64.');
  const signatures: unknown[] = envelope.signatures;
  const pae = preAuthEncoding(CHANNEL_INDEX_PAYLOAD_TYPE, body);
  let trustedSignatures = 0;
  let verified: string | null = null;
  for (const entry of signatures) {
    if (!isObject(entry) || typeof entry.keyid !== 'string' || typeof entry.sig !== 'string')
      continue;
    const { keyid, sig } = entry;
    const key = trustedKeys.find((k) => k.keyId === keyid);
    if (key === undefined) continue;
    trustedSignatures += 1;
    if (verifyBytes(pae, sig, key.key)) {
      verified = keyid;
      break;
    }
  }
  if (trustedSignatures === 0) {
    throw indexError(
      'INDEX_SIGNER_UNTRUSTED',
      'The channel index carries no signature by a trusted key.',
      {
        keyids: signatures.map((s) => (isObject(s) ? s.keyid : null)),
      },
    );
  }
  if (verified === null) {
    throw indexError('INDEX_SIGNATURE_INVALID', 'The channel index signature does not verify.');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (cause) {
    throw new LockgateError('INDEX_INVALID', 'The channel index payload is not JSON.', { cause });
  }
  const payload = validateChannelIndex(parsed);
  if (options.env !== undefined && payload.env !== options.env) {
    throw indexError(
      'INDEX_INVALID',
      `The channel index is for env ${payload.env}, not ${options.env}.`,
    );
  }
  if (options.channel !== undefined && payload.channel !== options.channel) {
    throw indexError(
      'INDEX_INVALID',
      `The channel index is for channel ${payload.channel}, not ${options.channel}.`,
    );
  }
  if (!isUnexpired(payload.expiresAt, options.now)) {
    throw indexError('INDEX_EXPIRED', `The channel index expired at ${payload.expiresAt}.`, {
      expiresAt: payload.expiresAt,
      version: payload.version,
    });
  }
  const seen = options.highestSeenVersion;
  if (seen !== undefined && seen !== null && payload.version < seen) {
    throw indexError(
      'INDEX_REPLAYED',
      `The channel index version ${payload.version} is older than ${seen}, already seen.`,
      {
        version: payload.version,
        highestSeenVersion: seen,
      },
    );
  }
  return payload;
}
