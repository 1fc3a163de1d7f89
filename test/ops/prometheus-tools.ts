import { spawnSync } from 'node:child_process';

/**
 * Whether a Debian prometheus tool is on PATH. Tests that need it run under CI=true whatever the
 * answer (.ci/run installs the package, so a missing tool fails there); locally they are skipped
 * when it is missing.
 */
export function hasTool(name: 'promtool' | 'prometheus'): boolean {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}

export const RUN_PROMETHEUS_TESTS = process.env['CI'] === 'true' || hasTool('prometheus');
export const RUN_PROMTOOL_TESTS = process.env['CI'] === 'true' || hasTool('promtool');
