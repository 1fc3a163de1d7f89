import type { Command } from 'commander';
import { objectField } from '../api-client.ts';
import type { PinView } from '@lockgate/api';
import { addServerOptions, clientFor } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';
import { parseExpiry, parsePackRef, parsePinScope, parseReason } from '../option-values.ts';
import type { Expiry, PinScope } from '../option-values.ts';
import { printResult } from '../output.ts';
import { loadPackNames, packLabel, packNameSuffix } from '../pack-names.ts';
import { pinScope } from '../release-format.ts';
import { channelPath } from './channel-command.ts';

interface SetOptions extends ServerOptions {
  reason: string;
  expires: Expiry;
}

interface ClearOptions extends ServerOptions {
  reason: string;
}

/** The cohort segment `_` is the whole channel. */
function pinPath(scope: PinScope): string {
  return `${channelPath(scope)}/pins/${scope.cohort === null ? '_' : encodeURIComponent(scope.cohort)}`;
}

function scopeText(scope: PinScope): string {
  return `${scope.env}/${scope.channel}${scope.cohort === null ? '' : `/${scope.cohort}`}`;
}

export async function setPin(
  context: CommandContext,
  scope: PinScope,
  pack: string,
  options: SetOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const expiry =
    'expiresAt' in options.expires
      ? { expiresAt: options.expires.expiresAt }
      : { expiresIn: options.expires.expiresIn };
  const response = await client.request('PUT', pinPath(scope), {
    json: { pack, reason: options.reason, ...expiry },
  });
  const pin = objectField<PinView>(response.body, 'pin');
  const names =
    options.json === true ? new Map<string, string>() : await loadPackNames(client, [pin.pack]);
  printResult(
    context.io,
    options.json === true,
    `pinned ${scopeText(scope)} (${pinScope(pin)}) to ${pin.pack} until ${pin.expiresAt}${packNameSuffix(names, pin.pack)}`,
    { pin },
  );
}

export async function clearPin(
  context: CommandContext,
  scope: PinScope,
  options: ClearOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('DELETE', pinPath(scope), {
    json: { reason: options.reason },
  });
  const pin = objectField<PinView>(response.body, 'pin');
  const names =
    options.json === true ? new Map<string, string>() : await loadPackNames(client, [pin.pack]);
  printResult(
    context.io,
    options.json === true,
    `cleared the pin of ${scopeText(scope)} (was ${packLabel(names, pin.pack)})`,
    { pin },
  );
}

export function registerPinCommands(program: Command, context: CommandContext): void {
  const pin = program
    .command('pin')
    .description('hold a channel or one of its cohorts to one pack (pins win over releases)');

  addServerOptions(
    pin
      .command('set')
      .description('pin a channel (ENV/CHANNEL) or a cohort (ENV/CHANNEL/COHORT) to a pack')
      .argument('<SCOPE>', 'ENV/CHANNEL or ENV/CHANNEL/COHORT', parsePinScope)
      .argument('<PACK>', 'pack digest (sha256:...) or NAME@VERSION', parsePackRef)
      .requiredOption('--reason <TEXT>', 'why the pin', parseReason)
      .requiredOption(
        '--expires <WHEN>',
        'how long the pin holds (e.g. 24h) or until when (RFC 3339)',
        parseExpiry,
      ),
  ).action((scope: PinScope, pack: string, options: SetOptions) =>
    setPin(context, scope, pack, options),
  );

  addServerOptions(
    pin
      .command('clear')
      .description('remove the pin of a channel or cohort')
      .argument('<SCOPE>', 'ENV/CHANNEL or ENV/CHANNEL/COHORT', parsePinScope)
      .requiredOption('--reason <TEXT>', 'why the pin ends', parseReason),
  ).action((scope: PinScope, options: ClearOptions) => clearPin(context, scope, options));
}
