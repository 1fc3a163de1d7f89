import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent } from '../../src/index.ts';
import type { Agent, AgentOptions, AgentState } from '../../src/index.ts';
import { TOKEN } from './fixture-server.ts';
import { BUILD_KEY, CHANNEL, ENV, publicPem, SERVER_KEY } from './packs.ts';
import type { TestPack } from './packs.ts';

export async function makeTempDir(
  prefix: string,
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `lockgate-agent-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Agent options for a test: the fixture server, the test keys, quick trials. */
export function agentOptions(
  server: string,
  dir: string,
  overrides: Partial<AgentOptions> = {},
): AgentOptions {
  return {
    server,
    token: TOKEN,
    targetId: 'target-1',
    env: ENV,
    channel: CHANNEL,
    labels: { region: 'eu' },
    dir,
    trustedServerKeys: [publicPem(SERVER_KEY)],
    trustedBuildKeys: [publicPem(BUILD_KEY)],
    healthIntervalMs: 10,
    trialPasses: 2,
    trialFailures: 2,
    events: false,
    ...overrides,
  };
}

export function testAgent(
  server: string,
  dir: string,
  overrides: Partial<AgentOptions> = {},
): Agent {
  return createAgent(agentOptions(server, dir, overrides));
}

/** The pack `DIR/current` points at (by hex), or null. */
export async function currentHex(dir: string): Promise<string | null> {
  try {
    const target = await readlink(join(dir, 'current'));
    return target.replace(/^packs\//, '');
  } catch {
    return null;
  }
}

export function hexOf(pack: TestPack): string {
  return pack.digest.slice('sha256:'.length);
}

export async function readState(dir: string): Promise<AgentState> {
  return JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as AgentState;
}

/** Every regular file under root with its bytes, by relative path. */
export async function filesUnder(root: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) await walk(join(dir, entry.name), path);
      else files.set(path, await readFile(join(dir, entry.name)));
    }
  };
  await walk(root, '');
  return files;
}

/** True when the directory holds exactly the pack's files, byte for byte. */
export async function holdsExactly(dir: string, pack: TestPack): Promise<boolean> {
  let files: Map<string, Buffer>;
  try {
    files = await filesUnder(dir);
  } catch {
    return false;
  }
  if (files.size !== pack.files.size) return false;
  for (const [path, bytes] of pack.files) {
    const actual = files.get(path);
    if (actual === undefined || !actual.equals(bytes)) return false;
  }
  return true;
}
