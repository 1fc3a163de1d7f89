import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { prometheusScrapeConfig } from '../src/demo/scrape-config.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HAS_PROMTOOL = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

describe('the demo scrape config', () => {
  it('targets the server `npm start` runs, with the alert rules', () => {
    const text = prometheusScrapeConfig('http://127.0.0.1:7070');
    expect(text).toContain("- targets: ['127.0.0.1:7070']");
    expect(text).toContain('metrics_path: /metrics');
    expect(text).toContain('- ops/prometheus/lockgate-rules.yaml');
    expect(text).not.toContain('authorization');
    expect(prometheusScrapeConfig('https://lockgate.example', 'tok')).toContain(
      "- targets: ['lockgate.example:443']",
    );
  });

  it.runIf(process.env['CI'] === 'true' || HAS_PROMTOOL)(
    'passes promtool check config',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lockgate-scrape-'));
      try {
        const file = join(dir, 'prometheus.yml');
        await writeFile(
          file,
          prometheusScrapeConfig('http://127.0.0.1:7070').replace(
            'ops/prometheus/lockgate-rules.yaml',
            join(ROOT, 'ops/prometheus/lockgate-rules.yaml'),
          ),
        );
        const checked = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
        expect(`${checked.stdout}${checked.stderr}`).toContain('SUCCESS');
        expect(checked.status).toBe(0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
