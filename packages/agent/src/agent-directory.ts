/**
 * Opening the agent directory on start: the leftovers of interrupted writes are removed, and
 * the state is read with `active` and `installed` taken from the disk (`current` is the truth
 * about what runs). An index stored for another channel is not returned: its ETag must not
 * turn this channel's index into a 304.
 */
import { mkdir } from 'node:fs/promises';
import { loadState, loadStoredIndex, loadTrial, storedIndexChannel } from './agent-state.ts';
import type {
  AgentPaths,
  AgentState,
  StateContext,
  StoredIndex,
  TrialRecord,
} from './agent-state.ts';
import { listInstalled, readCurrent, removeLeftovers } from './pack-install.ts';

export async function openAgentDirectory(
  paths: AgentPaths,
  context: StateContext,
): Promise<{ agent: AgentState; stored: StoredIndex | null; trial: TrialRecord | null }> {
  await mkdir(paths.cache, { recursive: true });
  await mkdir(paths.packs, { recursive: true });
  await removeLeftovers(paths);
  const agent = await loadState(paths, context);
  const stored = await loadStoredIndex(paths);
  const storedFor = stored === null ? null : storedIndexChannel(stored);
  const same = storedFor?.env === context.env && storedFor.channel === context.channel;
  agent.active = await readCurrent(paths);
  agent.installed = await listInstalled(paths);
  const trial = await loadTrial(paths);
  return { agent, stored: same ? stored : null, trial };
}
