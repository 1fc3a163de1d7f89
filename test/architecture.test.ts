import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * DESIGN.md §3's dependency rules hold by machine: the repository's own ESLint configuration,
 * applied to probe files placed where real files live, refuses what the rules forbid and lets
 * through what they allow.
 */
const root = new URL('..', import.meta.url).pathname;
const eslint = new ESLint({
  cwd: root,
  // Only the rule under test runs: the probes are not on disk, so the type-aware rules could not.
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
  overrideConfig: {
    languageOptions: { parserOptions: { projectService: false, project: null } },
  },
});

async function restrictedImports(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${path}` });
  return (result?.messages ?? [])
    .filter((message) => message.ruleId === 'no-restricted-imports')
    .map((message) => message.message);
}

describe('the server layout rules', () => {
  it('refuses a feature reaching into another feature past its public module', async () => {
    const refused = await restrictedImports(
      'packages/server/src/features/releases/probe.ts',
      "import { createPlanService } from '../plans/plan-service.ts';\nvoid createPlanService;\n",
    );
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/public\.ts/);
    const store = await restrictedImports(
      'packages/server/src/features/releases/probe.ts',
      "import type { PlanStore } from '../plans/plan-store.ts';\nexport type P = PlanStore;\n",
    );
    expect(store).toHaveLength(1);
  });

  it('lets a feature use another through its public module and its own files freely', async () => {
    expect(
      await restrictedImports(
        'packages/server/src/features/releases/probe.ts',
        "import { resolvePlan } from '../plans/public.ts';\nimport { x } from './release-store.ts';\nvoid resolvePlan; void x;\n",
      ),
    ).toEqual([]);
  });

  it('wires features from the rest of the server through index.ts or public.ts only', async () => {
    expect(
      await restrictedImports(
        'packages/server/src/probe.ts',
        "import { createPlanService } from './features/plans/plan-service.ts';\nvoid createPlanService;\n",
      ),
    ).toHaveLength(1);
    expect(
      await restrictedImports(
        'packages/server/src/http/probe.ts',
        "import { createPlanService } from '../features/plans/index.ts';\nvoid createPlanService;\n",
      ),
    ).toEqual([]);
  });

  it('keeps HTTP out of services and stores out of routes', async () => {
    expect(
      await restrictedImports(
        'packages/server/src/features/plans/probe-service.ts',
        "import type { FastifyRequest } from 'fastify';\nexport type R = FastifyRequest;\n",
      ),
    ).toHaveLength(1);
    expect(
      await restrictedImports(
        'packages/server/src/features/plans/probe-routes.ts',
        "import { createPlanStore } from './plan-store.ts';\nvoid createPlanStore;\n",
      ),
    ).toHaveLength(1);
  });

  it('keeps the server off the agent and the CLI', async () => {
    expect(
      await restrictedImports(
        'packages/server/src/features/plans/probe.ts',
        "import { x } from '@lockgate/agent';\nvoid x;\n",
      ),
    ).toHaveLength(1);
  });
});
