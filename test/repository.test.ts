import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const rootPackage = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
  allowScripts?: Record<string, boolean>;
};

describe('the repository contract', () => {
  it('pins Node 24 through the node dev dependency and allows its install script', () => {
    expect(rootPackage.devDependencies.node).toMatch(/^24\./);
    expect(rootPackage.allowScripts?.node).toBe(true);
    expect(rootPackage.engines.node).toBe('>=22.13');
  });

  it('runs the tests on the pinned Node', () => {
    expect(Number(process.versions.node.split('.')[0])).toBe(24);
  });

  it('makes .ci/run call the README test command', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
    expect(ci).toMatch(/^npm test$/m);
  });
});
