import type { Command } from 'commander';
import { formatDuration, LockgateError } from '@lockgate/core';
import type { Plan, Stage } from '@lockgate/core';
import { itemsOf, objectField } from '../api-client.ts';
import { UsageError } from '../cli-error.ts';
import { addServerOptions, clientFor, readInputFile } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';
import { parsePlanName } from '../option-values.ts';
import { printResult } from '../output.ts';
import { formatGateSpec } from '../release-format.ts';

interface SetOptions extends ServerOptions {
  file: string;
}

function planPath(name: string): string {
  return `/api/v1/plans/${encodeURIComponent(name)}`;
}

function stageLine(stage: Stage, index: number): string {
  const scope = stage.cohort === undefined ? '' : ` of cohort ${stage.cohort}`;
  const approvals = (stage.approvals ?? 0) > 0 ? `, ${stage.approvals} approval(s) to start` : '';
  const gates = stage.gates.length === 0 ? 'no gates' : stage.gates.map(formatGateSpec).join('; ');
  return `  ${index + 1}. ${stage.name}: ${stage.percent}%${scope}, soak ${formatDuration(stage.soakSeconds)}${approvals}; ${gates}`;
}

type PlanView = Plan & { builtin?: boolean };

function planSummary(plan: PlanView): string {
  return `${plan.name}  ${plan.stages.map((stage) => `${stage.percent}%`).join(' → ')}${
    plan.builtin === true ? '  (built-in)' : ''
  }`;
}

export async function listPlans(context: CommandContext, options: ServerOptions): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('GET', '/api/v1/plans');
  const items = itemsOf<PlanView>(response.body);
  printResult(
    context.io,
    options.json === true,
    items.length === 0 ? 'no plans' : items.map(planSummary).join('\n'),
    { items },
  );
}

export async function showPlan(
  context: CommandContext,
  name: string,
  options: ServerOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('GET', planPath(name));
  const plan = objectField<Plan>(response.body, 'plan');
  printResult(
    context.io,
    options.json === true,
    [`plan ${plan.name}`, ...plan.stages.map(stageLine)].join('\n'),
    { plan },
  );
}

/**
 * The plan body from a JSON file: `{stages}` (a `name` in the file must be NAME; the server
 * takes the name from the path). The server checks the stages (PLAN_INVALID).
 */
export function planBody(name: string, file: string, text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch (error) {
    throw new LockgateError('PLAN_INVALID', `${file} is not JSON (${(error as Error).message})`, {
      details: { file },
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new LockgateError('PLAN_INVALID', `${file} must hold a JSON object {"stages": [...]}`, {
      details: { file },
    });
  }
  const { name: fileName, ...body } = parsed as Record<string, unknown>;
  if (fileName !== undefined && fileName !== name) {
    throw new UsageError(
      `${file} names the plan ${JSON.stringify(fileName)}, but the command sets '${name}'`,
    );
  }
  return body;
}

export async function setPlan(
  context: CommandContext,
  name: string,
  options: SetOptions,
): Promise<void> {
  const text = (await readInputFile(context, options.file, 'plan file')).toString('utf8');
  const body = planBody(name, options.file, text);
  const client = clientFor(context, options);
  const response = await client.request('PUT', planPath(name), { json: body });
  const plan = objectField<Plan>(response.body, 'plan');
  const created = response.status === 201;
  printResult(
    context.io,
    options.json === true,
    [`${created ? 'created' : 'updated'} plan ${plan.name}`, ...plan.stages.map(stageLine)].join(
      '\n',
    ),
    { plan, created },
  );
}

export function registerPlanCommands(program: Command, context: CommandContext): void {
  const plan = program.command('plan').description('list, show and set rollout plans');

  addServerOptions(plan.command('list').description('list rollout plans')).action(
    (options: ServerOptions) => listPlans(context, options),
  );

  addServerOptions(
    plan
      .command('show')
      .description('show a plan: its stages, soaks, approvals and gates')
      .argument('<NAME>', 'plan name', parsePlanName),
  ).action((name: string, options: ServerOptions) => showPlan(context, name, options));

  addServerOptions(
    plan
      .command('set')
      .description('create or replace a plan from a JSON file {"stages": [...]}')
      .argument('<NAME>', 'plan name (the built-ins cannot be replaced)', parsePlanName)
      .requiredOption('--file <FILE>', 'the plan as JSON'),
  ).action((name: string, options: SetOptions) => setPlan(context, name, options));
}
