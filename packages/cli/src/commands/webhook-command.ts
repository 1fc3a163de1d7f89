import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { bodyObject, itemsOf, objectField } from '../api-client.ts';
import { addServerOptions, clientFor, readInputFile } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';
import { collectString, parseLimit, parseReason, parseTokenName } from '../option-values.ts';
import { printResult } from '../output.ts';

/** A webhook subscription as the server shows it (never its secret). */
interface WebhookView {
  name: string;
  url: string;
  format: 'json' | 'slack';
  events: string[];
  createdAt: string;
  createdBy: string;
}

interface DeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  log: { attempt: number; at: string; statusCode: number | null; error: string | null }[];
}

interface AddOptions extends ServerOptions {
  url: string;
  format?: 'json' | 'slack';
  event?: string[];
  secretFile?: string;
}

interface ReasonOptions extends ServerOptions {
  reason: string;
}

interface DeliveriesOptions extends ServerOptions {
  limit?: number;
}

const webhookPath = (name: string): string => `/api/v1/webhooks/${encodeURIComponent(name)}`;

export function webhookLine(webhook: WebhookView): string {
  return `${webhook.name}  ${webhook.format}  ${webhook.url}  events ${webhook.events.join(',')}`;
}

export function deliveryLine(delivery: DeliveryView): string {
  const answer =
    delivery.lastStatusCode === null
      ? (delivery.lastError ?? 'not tried yet')
      : `HTTP ${delivery.lastStatusCode}${delivery.lastError === null || delivery.lastError.startsWith('HTTP') ? '' : ` ${delivery.lastError}`}`;
  const next = delivery.nextAttemptAt === null ? '' : `  next ${delivery.nextAttemptAt}`;
  return `${delivery.createdAt}  ${delivery.eventType}  ${delivery.status}  attempts ${delivery.attempts}  ${answer}${next}`;
}

function parseFormat(value: string): 'json' | 'slack' {
  if (value !== 'json' && value !== 'slack') {
    throw new InvalidArgumentError(`Expected json or slack, not '${value}'.`);
  }
  return value;
}

export function registerWebhookCommands(program: Command, context: CommandContext): void {
  const webhook = program
    .command('webhook')
    .description('send signed notifications of release events to URLs (admin token)');

  addServerOptions(
    webhook
      .command('add')
      .description(
        'subscribe a URL to release events; prints the signing secret once (HMAC-SHA256 of "<t>.<body>")',
      )
      .argument('<NAME>', 'subscription name, e.g. oncall', parseTokenName)
      .requiredOption('--url <URL>', 'where to post (http:// or https://)')
      .option('--format <FORMAT>', 'json (default) or slack', parseFormat)
      .option(
        '--event <TYPE>',
        'an event to send, repeatable (default: every one): release.requested, release.stage_passed, ' +
          'release.paused, release.gate_failed, release.rolled_back, release.completed, ' +
          'release.approval_needed, freeze.started',
        collectString,
      )
      .option('--secret-file <FILE>', 'use the secret in FILE instead of a generated one'),
  ).action(async (name: string, options: AddOptions) => {
    const secret =
      options.secretFile === undefined
        ? undefined
        : (await readInputFile(context, options.secretFile, 'secret file')).toString('utf8').trim();
    const client = clientFor(context, options);
    const response = await client.request('POST', '/api/v1/webhooks', {
      json: {
        name,
        url: options.url,
        ...(options.format === undefined ? {} : { format: options.format }),
        ...(options.event === undefined ? {} : { events: options.event }),
        ...(secret === undefined ? {} : { secret }),
      },
    });
    const body = bodyObject<{ webhook: WebhookView; secret: string }>(response.body);
    printResult(
      context.io,
      options.json === true,
      `added webhook ${webhookLine(body.webhook)}\nsigning secret (shown once): ${body.secret}`,
      body,
    );
  });

  addServerOptions(webhook.command('list').description('list webhook subscriptions')).action(
    async (options: ServerOptions) => {
      const client = clientFor(context, options);
      const items = itemsOf<WebhookView>((await client.request('GET', '/api/v1/webhooks')).body);
      printResult(
        context.io,
        options.json === true,
        items.length === 0 ? 'no webhooks' : items.map(webhookLine).join('\n'),
        { items },
      );
    },
  );

  addServerOptions(
    webhook
      .command('remove')
      .description('remove a subscription and its delivery log')
      .argument('<NAME>', 'subscription name', parseTokenName)
      .requiredOption('--reason <TEXT>', 'why (recorded)', parseReason),
  ).action(async (name: string, options: ReasonOptions) => {
    const client = clientFor(context, options);
    const response = await client.request('DELETE', webhookPath(name), {
      json: { reason: options.reason },
    });
    const removed = objectField<WebhookView>(response.body, 'webhook');
    printResult(context.io, options.json === true, `removed webhook ${webhookLine(removed)}`, {
      webhook: removed,
    });
  });

  addServerOptions(
    webhook
      .command('test')
      .description('post a signed webhook.test event now and show the answer')
      .argument('<NAME>', 'subscription name', parseTokenName),
  ).action(async (name: string, options: ServerOptions) => {
    const client = clientFor(context, options);
    const response = await client.request('POST', `${webhookPath(name)}/test`);
    const delivery = objectField<DeliveryView>(response.body, 'delivery');
    printResult(context.io, options.json === true, `test delivery: ${deliveryLine(delivery)}`, {
      delivery,
    });
  });

  addServerOptions(
    webhook
      .command('deliveries')
      .description('the delivery log of a subscription, newest first, with every attempt')
      .argument('<NAME>', 'subscription name', parseTokenName)
      .option('--limit <N>', 'how many deliveries (default 100)', parseLimit),
  ).action(async (name: string, options: DeliveriesOptions) => {
    const client = clientFor(context, options);
    const response = await client.request('GET', `${webhookPath(name)}/deliveries`, {
      query: { limit: options.limit },
    });
    const items = itemsOf<DeliveryView>(response.body);
    const lines = items.flatMap((delivery) => [
      deliveryLine(delivery),
      ...delivery.log.map(
        (a) =>
          `  #${a.attempt} ${a.at} ${a.statusCode === null ? (a.error ?? '') : `HTTP ${a.statusCode}`}`,
      ),
    ]);
    printResult(
      context.io,
      options.json === true,
      items.length === 0 ? 'no deliveries' : lines.join('\n'),
      { items },
    );
  });
}
