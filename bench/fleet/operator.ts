/**
 * An operator's pause and resume of a rolling release, timed from a process of its own: the
 * simulator's event loop (tens of thousands of agents) would add its own delay to what it
 * timed. Run by scenario.ts as `node bench/fleet/operator.ts URL RELEASE_ID [PAIRS]` with the
 * admin token in LOCKGATE_TOKEN; prints `{"pause":ms,"resume":ms,"pauses":[ms…],"resumes":[ms…]}`
 * (the first pair, then every pair: up to PAIRS, default 1, 150 ms apart, while the release
 * rolls), or `null` when the release had left rolling (the pause refused: nothing changed), with
 * `"resume":null` when the controller ended the paused release before the resume (a gate that
 * failed rolls a paused release back).
 */
import { adminApi } from '../lib/lockgate-api.ts';

const [url, id, pairsArg] = process.argv.slice(2);
const pairs = Math.max(1, Number(pairsArg ?? 1) || 1);
const token = process.env['LOCKGATE_TOKEN'];
if (url === undefined || id === undefined || token === undefined) {
  process.stderr.write(
    'usage: LOCKGATE_TOKEN=… node bench/fleet/operator.ts URL RELEASE_ID [PAIRS]\n',
  );
  process.exit(2);
}
const api = adminApi(url, token);
const reason = { reason: 'fleet simulator: command probe' };
// The first request of a process pays for loading and compiling its HTTP client: not timed.
await api.call('GET', `/releases/${id}`);
/** Runs a command; false when it was refused because the release is no longer in its state. */
async function command(kind: 'pause' | 'resume'): Promise<boolean> {
  try {
    await api.call('POST', `/releases/${id}/${kind}`, reason);
    return true;
  } catch (error) {
    if (!String(error).includes('RELEASE_STATE_INVALID')) throw error;
    return false;
  }
}

/** One pause and resume, timed; null when the pause was refused (the release left rolling). */
async function pair(): Promise<{ pause: number; resume: number | null } | null> {
  const started = performance.now();
  if (!(await command('pause'))) return null;
  const paused = performance.now();
  const resumed = await command('resume');
  return { pause: paused - started, resume: resumed ? performance.now() - paused : null };
}

const first = await pair();
if (first === null) {
  process.stdout.write('null\n');
  process.exit(0);
}
const pauses = [first.pause];
const resumes = first.resume === null ? [] : [first.resume];
for (let i = 1; i < pairs && resumes.length === pauses.length; i++) {
  await new Promise((resolve) => setTimeout(resolve, 150));
  const next = await pair();
  if (next === null) break;
  pauses.push(next.pause);
  if (next.resume !== null) resumes.push(next.resume);
}
process.stdout.write(`${JSON.stringify({ ...first, pauses, resumes })}\n`);
