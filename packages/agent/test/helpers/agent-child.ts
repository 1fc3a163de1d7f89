/**
 * A child process for crash tests: `node agent-child.ts '<json>'` where json is
 * `{options: AgentOptions, dieOn?: event name}`. It prints `ready` once the agent exists, one
 * `event NAME` line per agent event, and `done KIND` when its sync ends. With `dieOn` it
 * SIGKILLs itself inside that event's listener: a `kill -9` at an exact point.
 */
import process from 'node:process';
import { createAgent } from '../../src/index.ts';
import type { AgentEventMap, AgentOptions } from '../../src/index.ts';

interface ChildConfig {
  options: AgentOptions;
  dieOn?: keyof AgentEventMap;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
const agent = createAgent(config.options);
const names: (keyof AgentEventMap)[] = [
  'verified',
  'activated',
  'committed',
  'reverted',
  'rejected',
  'repaired',
];
for (const name of names) {
  agent.on(name, () => {
    process.stdout.write(`event ${name} ${(performance.now() - readyAt).toFixed(1)}\n`);
    if (config.dieOn === name) process.kill(process.pid, 'SIGKILL');
  });
}
const readyAt = performance.now();
process.stdout.write('ready\n');
const outcome = await agent.syncOnce();
process.stdout.write(`done ${outcome.kind} ${(performance.now() - readyAt).toFixed(1)}\n`);
