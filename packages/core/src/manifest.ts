import semver from 'semver';
import { canonicalBytes } from './canonical-json.ts';
import { digestOf } from './digest.ts';
import type { Digest } from './digest.ts';
import { LockgateError } from './errors.ts';

export const PACK_SCHEMA = 'lockgate.pack/v1';

export type GateStatus = 'PASS' | 'FAIL' | 'ERROR' | 'SKIP';
export const GATE_STATUSES: readonly GateStatus[] = ['PASS', 'FAIL', 'ERROR', 'SKIP'];

export interface GateResult {
  name: string;
  status: GateStatus;
  details?: string;
}

export interface PackFile {
  /** Normalized relative POSIX path: no leading '/', no '.', '..' or empty segments, no backslash, no NUL. */
  path: string;
  /** lowercase hex sha256 of the file's bytes */
  sha256: string;
  size: number;
  role?: string;
}

export interface PackProvenance {
  buildId: string;
  source?: { repo?: string; commit?: string };
  /** RFC 3339 UTC time */
  createdAt: string;
  gates: GateResult[];
  inputs?: Record<string, string>;
}

export interface PackSignature {
  keyId: string;
  alg: 'ed25519';
  sig: string;
}

export interface PackManifest {
  schema: typeof PACK_SCHEMA;
  name: string;
  version: string;
  sequence: number;
  files: PackFile[];
  /** e.g. { runtime: ">=2.3 <3", schema: "kb/3", profile: "default", capabilities: "lookup,search" } */
  requires: Record<string, string>;
  provenance: PackProvenance;
  signatures: PackSignature[];
}

export type UnsignedManifest = Omit<PackManifest, 'signatures'>;

/** Pack names: lowercase letters, digits, '.', '_' and '-', starting and ending with a letter or digit. */
export const PACK_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9._-]{0,126}[a-z0-9])?$/;
/** Longest pack file path and path segment, in UTF-8 bytes (Linux PATH_MAX and NAME_MAX). */
export const MAX_PATH_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 255;
/** A pack sequence is a 32-bit signed integer: what every store's column (and floor) holds. */
export const MAX_PACK_SEQUENCE = 2_147_483_647;

const HEX64 = /^[0-9a-f]{64}$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const RFC3339_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?Z$/;
// C0 controls and DEL: legal in POSIX names, but they break listings, logs and shells.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * Checks an unknown value against lockgate.pack/v1 (unknown fields refused, files sorted by
 * path and unique, paths safe, semver version, integer sequence 0 to MAX_PACK_SEQUENCE, name pattern).
 * Throws LockgateError PACK_MANIFEST_INVALID with details.problems: string[].
 * Returns a fresh copy holding only the schema's fields.
 */
export function validateManifest(value: unknown): PackManifest {
  const problems: string[] = [];
  const check = new Checker(problems);
  const manifest = check.manifest(value);
  if (manifest === undefined || problems.length > 0) {
    throw new LockgateError(
      'PACK_MANIFEST_INVALID',
      `The manifest does not match ${PACK_SCHEMA}: ${problems[0] ?? 'invalid'}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}.`,
      { details: { problems } },
    );
  }
  return manifest;
}

/** Parses manifest JSON bytes then validates; PACK_MANIFEST_INVALID on bad JSON. */
export function parseManifest(bytes: Uint8Array | string): PackManifest {
  return validateManifest(parseManifestJson(bytes));
}

/** Parses manifest JSON (strict UTF-8, no BOM) without validating it; PACK_MANIFEST_INVALID on bad JSON. */
export function parseManifestJson(bytes: Uint8Array | string): unknown {
  try {
    const text =
      typeof bytes === 'string'
        ? bytes
        : new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new LockgateError('PACK_MANIFEST_INVALID', 'The manifest is not UTF-8 JSON text.', {
      cause,
      details: { problems: [cause instanceof Error ? cause.message : 'not JSON'] },
    });
  }
}

/** null when the path is safe, else the reason it is not. */
export function unsafePathReason(path: string): string | null {
  if (typeof path !== 'string') return 'is not a string';
  if (path === '') return 'is empty';
  if (!isWellFormed(path)) return 'is not well-formed Unicode';
  if (path.includes('\0')) return 'contains NUL';
  if (path.includes('\\')) return 'contains a backslash';
  if (CONTROL_CHARACTER.test(path)) return 'contains a control character';
  if (path.startsWith('/')) return 'is absolute';
  if (utf8Length(path) > MAX_PATH_BYTES) return `is longer than ${MAX_PATH_BYTES} bytes`;
  for (const segment of path.split('/')) {
    if (segment === '') return 'has an empty segment';
    if (segment === '.' || segment === '..') return `has a '${segment}' segment`;
    if (utf8Length(segment) > MAX_SEGMENT_BYTES)
      return `has a segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return null;
}

/** packDigest = sha256 of JCS(manifest without signatures). */
export function packDigest(manifest: UnsignedManifest | PackManifest): Digest {
  return digestOf(signingBytes(manifest));
}

/** The exact bytes every signature covers: JCS(manifest without signatures). */
export function signingBytes(manifest: UnsignedManifest | PackManifest): Uint8Array {
  const { signatures: _signatures, ...unsigned } = manifest as Partial<PackManifest>;
  return canonicalBytes(unsigned);
}

/** Compares by UTF-16 code units, the order JCS gives object keys. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** False when the text holds a lone surrogate, which UTF-8 and JCS cannot carry. */
function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

type Fields = Record<string, unknown>;

/** Walks a value once, collecting every problem as `where: what`, and copies what it accepts. */
class Checker {
  private readonly problems: string[];

  constructor(problems: string[]) {
    this.problems = problems;
  }

  manifest(value: unknown): PackManifest | undefined {
    const o = this.object('manifest', value, {
      required: [
        'schema',
        'name',
        'version',
        'sequence',
        'files',
        'requires',
        'provenance',
        'signatures',
      ],
    });
    if (o === undefined) return undefined;
    if (o.schema !== PACK_SCHEMA) this.add('schema', `must be "${PACK_SCHEMA}"`);
    const name = this.string('name', o.name);
    if (name !== undefined && !PACK_NAME_PATTERN.test(name)) {
      this.add('name', 'must be 1-128 of a-z 0-9 . _ - starting and ending with a letter or digit');
    }
    const version = this.string('version', o.version);
    if (version !== undefined && semver.valid(version) !== version) {
      this.add('version', 'must be a semantic version such as 1.4.0');
    }
    let sequence = this.count('sequence', o.sequence);
    if (sequence !== undefined && sequence > MAX_PACK_SEQUENCE) {
      this.add('sequence', `must be at most ${MAX_PACK_SEQUENCE}`);
      sequence = undefined;
    }
    const files = this.files(o.files);
    const requires = this.record('requires', o.requires);
    const provenance = this.provenance(o.provenance);
    const signatures = this.signatures(o.signatures);
    if (
      name === undefined ||
      version === undefined ||
      sequence === undefined ||
      files === undefined ||
      requires === undefined ||
      provenance === undefined ||
      signatures === undefined
    ) {
      return undefined;
    }
    return {
      schema: PACK_SCHEMA,
      name,
      version,
      sequence,
      files,
      requires,
      provenance,
      signatures,
    };
  }

  private files(value: unknown): PackFile[] | undefined {
    const items = this.array('files', value);
    if (items === undefined) return undefined;
    const files: PackFile[] = [];
    const seen = new Set<string>();
    let previous: string | undefined;
    items.forEach((item, i) => {
      const where = `files[${i}]`;
      const o = this.object(where, item, {
        required: ['path', 'sha256', 'size'],
        optional: ['role'],
      });
      if (o === undefined) return;
      const path = this.string(`${where}.path`, o.path);
      if (path !== undefined) {
        const unsafe = unsafePathReason(path);
        if (unsafe !== null) this.add(`${where}.path`, unsafe);
        if (seen.has(path)) this.add(`${where}.path`, `"${path}" is listed twice`);
        else if (previous !== undefined && compareCodeUnits(previous, path) > 0) {
          this.add(`${where}.path`, `"${path}" is out of order: files must be sorted by path`);
        }
        // A path cannot be both a file and a directory once extracted.
        const segments = path.split('/');
        for (let n = 1; n < segments.length; n++) {
          const parent = segments.slice(0, n).join('/');
          if (seen.has(parent))
            this.add(`${where}.path`, `"${path}" lies under the file "${parent}"`);
        }
        seen.add(path);
        previous = path;
      }
      const sha256 = this.string(`${where}.sha256`, o.sha256);
      if (sha256 !== undefined && !HEX64.test(sha256))
        this.add(`${where}.sha256`, 'must be 64 lowercase hex');
      const size = this.count(`${where}.size`, o.size);
      const role = o.role === undefined ? undefined : this.text(`${where}.role`, o.role);
      if (path === undefined || sha256 === undefined || size === undefined) return;
      files.push(role === undefined ? { path, sha256, size } : { path, sha256, size, role });
    });
    return files;
  }

  private provenance(value: unknown): PackProvenance | undefined {
    const o = this.object('provenance', value, {
      required: ['buildId', 'createdAt', 'gates'],
      optional: ['source', 'inputs'],
    });
    if (o === undefined) return undefined;
    const buildId = this.text('provenance.buildId', o.buildId);
    const createdAt = this.string('provenance.createdAt', o.createdAt);
    if (createdAt !== undefined && !isRfc3339Utc(createdAt)) {
      this.add('provenance.createdAt', 'must be an RFC 3339 UTC time such as 2026-11-22T10:00:00Z');
    }
    const gates = this.gates(o.gates);
    let source: PackProvenance['source'];
    if (o.source !== undefined) {
      const s = this.object('provenance.source', o.source, { optional: ['repo', 'commit'] });
      if (s !== undefined) {
        source = {};
        if (s.repo !== undefined) source.repo = this.string('provenance.source.repo', s.repo);
        if (s.commit !== undefined)
          source.commit = this.string('provenance.source.commit', s.commit);
      }
    }
    const inputs = o.inputs === undefined ? undefined : this.record('provenance.inputs', o.inputs);
    if (buildId === undefined || createdAt === undefined || gates === undefined) return undefined;
    const provenance: PackProvenance = { buildId, createdAt, gates };
    if (source !== undefined) provenance.source = source;
    if (inputs !== undefined) provenance.inputs = inputs;
    return provenance;
  }

  private gates(value: unknown): GateResult[] | undefined {
    const items = this.array('provenance.gates', value);
    if (items === undefined) return undefined;
    const gates: GateResult[] = [];
    const names = new Set<string>();
    items.forEach((item, i) => {
      const where = `provenance.gates[${i}]`;
      const o = this.object(where, item, { required: ['name', 'status'], optional: ['details'] });
      if (o === undefined) return;
      const name = this.text(`${where}.name`, o.name);
      if (name !== undefined) {
        if (names.has(name)) this.add(`${where}.name`, `gate "${name}" is listed twice`);
        names.add(name);
      }
      const status = GATE_STATUSES.find((s) => s === o.status);
      if (status === undefined)
        this.add(`${where}.status`, `must be one of ${GATE_STATUSES.join(', ')}`);
      const details =
        o.details === undefined ? undefined : this.string(`${where}.details`, o.details);
      if (name === undefined || status === undefined) return;
      gates.push(details === undefined ? { name, status } : { name, status, details });
    });
    return gates;
  }

  private signatures(value: unknown): PackSignature[] | undefined {
    const items = this.array('signatures', value);
    if (items === undefined) return undefined;
    const signatures: PackSignature[] = [];
    const keyIds = new Set<string>();
    items.forEach((item, i) => {
      const where = `signatures[${i}]`;
      const o = this.object(where, item, { required: ['keyId', 'alg', 'sig'] });
      if (o === undefined) return;
      const keyId = this.string(`${where}.keyId`, o.keyId);
      if (keyId !== undefined) {
        if (!HEX64.test(keyId)) this.add(`${where}.keyId`, 'must be 64 lowercase hex');
        else if (keyIds.has(keyId)) this.add(`${where}.keyId`, 'the key signed twice');
        keyIds.add(keyId);
      }
      if (o.alg !== 'ed25519') this.add(`${where}.alg`, 'must be "ed25519"');
      const sig = this.text(`${where}.sig`, o.sig);
      if (keyId === undefined || sig === undefined) return;
      signatures.push({ keyId, alg: 'ed25519', sig });
    });
    return signatures;
  }

  /** A plain object whose keys are all known and whose required keys are present. */
  private object(
    where: string,
    value: unknown,
    keys: { required?: string[]; optional?: string[] },
  ): Fields | undefined {
    if (!isPlainObject(value)) {
      this.add(where, 'must be an object');
      return undefined;
    }
    const required = keys.required ?? [];
    const known = new Set([...required, ...(keys.optional ?? [])]);
    for (const key of Object.keys(value)) {
      if (!known.has(key)) this.add(where, `unknown field "${key}"`);
    }
    let complete = true;
    for (const key of required) {
      if (!Object.hasOwn(value, key) || value[key] === undefined) {
        this.add(where, `missing field "${key}"`);
        complete = false;
      }
    }
    return complete ? value : undefined;
  }

  private array(where: string, value: unknown): unknown[] | undefined {
    if (Array.isArray(value)) return value as unknown[];
    this.add(where, 'must be an array');
    return undefined;
  }

  /** A string with no lone surrogates, which JCS (and so packDigest) refuses. */
  private string(where: string, value: unknown): string | undefined {
    if (typeof value !== 'string') {
      this.add(where, 'must be a string');
      return undefined;
    }
    if (!isWellFormed(value)) {
      this.add(where, 'must be well-formed Unicode');
      return undefined;
    }
    return value;
  }

  /** A non-empty string. */
  private text(where: string, value: unknown): string | undefined {
    const s = this.string(where, value);
    if (s === '') {
      this.add(where, 'must not be empty');
      return undefined;
    }
    return s;
  }

  /** A safe integer >= 0. */
  private count(where: string, value: unknown): number | undefined {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
    this.add(where, 'must be an integer >= 0');
    return undefined;
  }

  /** An object of non-empty string keys to string values. */
  private record(where: string, value: unknown): Record<string, string> | undefined {
    if (!isPlainObject(value)) {
      this.add(where, 'must be an object of strings');
      return undefined;
    }
    const entries: [string, string][] = [];
    for (const [key, item] of Object.entries(value)) {
      if (key === '' || !isWellFormed(key))
        this.add(where, `key "${key}" must be a non-empty well-formed string`);
      const s = this.string(`${where}.${key}`, item);
      if (s !== undefined) entries.push([key, s]);
    }
    // fromEntries defines own properties, so a "__proto__" key stays data.
    return Object.fromEntries(entries);
  }

  private add(where: string, what: string): void {
    this.problems.push(`${where}: ${what}`);
  }
}

function isPlainObject(value: unknown): value is Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isRfc3339Utc(text: string): boolean {
  const m = RFC3339_UTC.exec(text);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const t = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  return (
    t.getUTCFullYear() === year &&
    t.getUTCMonth() === month - 1 &&
    t.getUTCDate() === day &&
    t.getUTCHours() === hour &&
    t.getUTCMinutes() === minute &&
    t.getUTCSeconds() === second
  );
}
