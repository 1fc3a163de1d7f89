import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

/** The pack's lookup table: `data.json`, a JSON object of key → value. */
export const DATA_FILE = 'data.json';
/** Optional `{name, version}` of the pack, for `GET /version`. */
export const PACK_INFO_FILE = 'pack.json';
/**
 * The agent keeps each installed pack's manifest next to its directory:
 * `DIR/packs/<hex>.manifest.json` beside `DIR/packs/<hex>/`. Used when `pack.json` is absent.
 */
export const AGENT_MANIFEST_SUFFIX = '.manifest.json';
/** Optional behaviour settings, see RuntimeSettings. */
export const SETTINGS_FILE = 'runtime.json';

const WATCHED_FILES = [DATA_FILE, PACK_INFO_FILE, SETTINGS_FILE] as const;
const HEX_DIGEST = /^[0-9a-f]{64}$/;

/**
 * How the active pack makes the runtime behave. A pack carries these in `runtime.json` to
 * make a release misbehave on purpose (the demo's bad release, tests).
 */
export interface RuntimeSettings {
  /** Share of lookups answered with HTTP 500, in [0, 1]; deterministic (every 1/rate-th). */
  errorRate: number;
  /** Extra milliseconds before each lookup answers, ≥ 0. */
  addedLatencyMs: number;
  /** When true, `GET /healthz` answers 503 although the pack is loaded. */
  failHealth: boolean;
}

export const DEFAULT_SETTINGS: Readonly<RuntimeSettings> = Object.freeze({
  errorRate: 0,
  addedLatencyMs: 0,
  failHealth: false,
});

/** One pack, read completely into memory: requests only ever see a whole one. */
export interface LoadedPack {
  /** The resolved directory (the `current` symlink's target). */
  dir: string;
  /** `sha256:<hex>` when the directory is named by the pack's digest (the agent's layout). */
  digest: string | null;
  name: string | null;
  version: string | null;
  data: ReadonlyMap<string, unknown>;
  settings: Readonly<RuntimeSettings>;
  loadedAt: string;
}

export type LoadResult =
  { ok: true; pack: LoadedPack } | { ok: false; problem: string; dir: string | null };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errnoOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}

/**
 * A cheap fingerprint of what the pack directory holds: the resolved target plus the size and
 * mtime of each file the runtime reads. It changes when the symlink flips or a file changes.
 */
export async function packFingerprint(packDir: string): Promise<string> {
  let dir: string;
  try {
    dir = await realpath(packDir);
  } catch (error) {
    return `missing:${errnoOf(error)}`;
  }
  const parts = [dir];
  for (const file of WATCHED_FILES) {
    try {
      const info = await stat(join(dir, file));
      parts.push(`${file}:${info.size}:${info.mtimeMs}:${info.ino}`);
    } catch (error) {
      parts.push(`${file}:${errnoOf(error)}`);
    }
  }
  return parts.join('|');
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8')) as unknown;
}

async function readOptionalJson(path: string): Promise<unknown> {
  try {
    return await readJson(path);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Settings from `runtime.json`; throws with a sentence naming the bad field. */
export function parseSettings(value: unknown): RuntimeSettings {
  if (value === undefined) return { ...DEFAULT_SETTINGS };
  if (!isRecord(value)) throw new Error(`${SETTINGS_FILE} must be a JSON object`);
  const settings = { ...DEFAULT_SETTINGS };
  for (const [field, raw] of Object.entries(value)) {
    switch (field) {
      case 'errorRate':
        if (typeof raw !== 'number' || !(raw >= 0 && raw <= 1)) {
          throw new Error(`${SETTINGS_FILE}: errorRate must be a number from 0 to 1`);
        }
        settings.errorRate = raw;
        break;
      case 'addedLatencyMs':
        if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0 || raw > 60_000) {
          throw new Error(`${SETTINGS_FILE}: addedLatencyMs must be a number from 0 to 60000`);
        }
        settings.addedLatencyMs = raw;
        break;
      case 'failHealth':
        if (typeof raw !== 'boolean') {
          throw new Error(`${SETTINGS_FILE}: failHealth must be true or false`);
        }
        settings.failHealth = raw;
        break;
      default:
        throw new Error(`${SETTINGS_FILE}: ${field} is not a setting`);
    }
  }
  return settings;
}

function optionalString(info: Record<string, unknown>, field: string): string | null {
  const value = info[field];
  if (value === undefined) return null;
  if (typeof value !== 'string' || value === '') {
    throw new Error(`${PACK_INFO_FILE}: ${field} must be a non-empty string`);
  }
  return value;
}

/** `{name, version}` from the agent's manifest beside the pack directory, else `{}`. */
async function manifestInfo(dir: string): Promise<Record<string, unknown>> {
  try {
    const manifest = await readJson(`${dir}${AGENT_MANIFEST_SUFFIX}`);
    if (!isRecord(manifest)) return {};
    const { name, version } = manifest;
    return {
      ...(typeof name === 'string' && name !== '' ? { name } : {}),
      ...(typeof version === 'string' && version !== '' ? { version } : {}),
    };
  } catch {
    return {};
  }
}

/**
 * Reads the pack in `packDir` (usually `AGENT_DIR/current`, a symlink). Never throws: a
 * missing directory or a malformed file is a problem sentence, and the runtime is unhealthy.
 */
export async function loadPack(packDir: string, now: () => Date): Promise<LoadResult> {
  let dir: string;
  try {
    dir = await realpath(packDir);
  } catch (error) {
    return {
      ok: false,
      problem: `pack directory ${packDir} is missing (${errnoOf(error)})`,
      dir: null,
    };
  }
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) {
      return { ok: false, problem: `${dir} is not a directory`, dir };
    }
    let rawData: unknown;
    try {
      rawData = await readJson(join(dir, DATA_FILE));
    } catch (error) {
      const why = errnoOf(error) === 'ENOENT' ? 'is missing' : `is unreadable (${errnoOf(error)})`;
      return { ok: false, problem: `${DATA_FILE} ${why} in ${dir}`, dir };
    }
    if (!isRecord(rawData)) {
      return { ok: false, problem: `${DATA_FILE} must be a JSON object of key → value`, dir };
    }
    const settings = parseSettings(await readOptionalJson(join(dir, SETTINGS_FILE)));
    const rawInfo = await readOptionalJson(join(dir, PACK_INFO_FILE));
    if (rawInfo !== undefined && !isRecord(rawInfo)) {
      return { ok: false, problem: `${PACK_INFO_FILE} must be a JSON object`, dir };
    }
    const packInfo = rawInfo ?? (await manifestInfo(dir));
    const name = basename(dir);
    return {
      ok: true,
      pack: Object.freeze({
        dir,
        digest: HEX_DIGEST.test(name) ? `sha256:${name}` : null,
        name: optionalString(packInfo, 'name'),
        version: optionalString(packInfo, 'version'),
        data: new Map(Object.entries(rawData)),
        settings: Object.freeze(settings),
        loadedAt: now().toISOString(),
      }),
    };
  } catch (error) {
    return {
      ok: false,
      problem: error instanceof Error ? error.message : String(error),
      dir,
    };
  }
}
