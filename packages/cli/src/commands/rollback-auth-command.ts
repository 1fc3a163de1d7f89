import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { itemsOf, objectField } from '../api-client.ts';
import type { RollbackAuthorizationView } from '@lockgate/api';
import { addServerOptions, clientFor } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';
import {
  parseChannelRef,
  parsePackRef,
  parsePositiveDuration,
  parseReason,
} from '../option-values.ts';
import type { ChannelRef } from '../option-values.ts';
import { printResult } from '../output.ts';
import { loadPackNames, packLabel } from '../pack-names.ts';
import type { PackNames } from '../pack-names.ts';
import { channelPath } from './channel-command.ts';

/**
 * `lockgate rollback-auth add|list|revoke`: the authorizations that let a pack below a channel's
 * downgrade floor be released, pinned or rolled back to. Adding one for a pack the channel
 * already authorizes (unexpired) returns that one, its expiry moved to the later of the two.
 */

interface AddOptions extends ServerOptions {
  reason: string;
  /** seconds */
  expires: number;
}

interface RevokeOptions extends ServerOptions {
  reason: string;
}

/** An authorization id such as `rba_…`: letters, digits, '_' and '-', at most 128. */
export function parseRollbackAuthorizationId(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(value)) {
    throw new InvalidArgumentError(
      `Expected a rollback authorization id (letters, digits, '_' and '-'), not '${value}'.`,
    );
  }
  return value;
}

function authorizationsPath(ref: ChannelRef): string {
  return `${channelPath(ref)}/rollback-authorizations`;
}

export function authorizationLine(a: RollbackAuthorizationView, names: PackNames): string {
  const by = a.actor === undefined ? '' : ` by ${a.actor}`;
  return `${a.id ?? '?'}  ${packLabel(names, a.pack)}  until ${a.expiresAt}${by}: ${a.reason}`;
}

export async function addRollbackAuthorization(
  context: CommandContext,
  ref: ChannelRef,
  pack: string,
  options: AddOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('POST', authorizationsPath(ref), {
    json: { pack, reason: options.reason, expiresIn: options.expires },
  });
  const authorization = objectField<RollbackAuthorizationView>(
    response.body,
    'rollbackAuthorization',
  );
  const created = response.status === 201;
  const names =
    options.json === true ? new Map() : await loadPackNames(client, [authorization.pack]);
  printResult(
    context.io,
    options.json === true,
    `${created ? 'authorized' : 'already authorized'} in ${ref.env}/${ref.channel}: ${authorizationLine(authorization, names)}`,
    { rollbackAuthorization: authorization, created },
  );
}

export async function listRollbackAuthorizations(
  context: CommandContext,
  ref: ChannelRef,
  options: ServerOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('GET', authorizationsPath(ref));
  const items = itemsOf<RollbackAuthorizationView>(response.body);
  const names =
    options.json === true
      ? new Map()
      : await loadPackNames(
          client,
          items.map((a) => a.pack),
        );
  printResult(
    context.io,
    options.json === true,
    items.length === 0
      ? `no rollback authorizations in ${ref.env}/${ref.channel}`
      : items.map((a) => authorizationLine(a, names)).join('\n'),
    { items },
  );
}

export async function revokeRollbackAuthorization(
  context: CommandContext,
  ref: ChannelRef,
  id: string,
  options: RevokeOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request(
    'DELETE',
    `${authorizationsPath(ref)}/${encodeURIComponent(id)}`,
    { json: { reason: options.reason } },
  );
  const authorization = objectField<RollbackAuthorizationView>(
    response.body,
    'rollbackAuthorization',
  );
  const names =
    options.json === true ? new Map() : await loadPackNames(client, [authorization.pack]);
  printResult(
    context.io,
    options.json === true,
    `revoked ${authorization.id ?? id} in ${ref.env}/${ref.channel} (was ${packLabel(names, authorization.pack)})`,
    { rollbackAuthorization: authorization },
  );
}

export function registerRollbackAuthCommands(program: Command, context: CommandContext): void {
  const group = program
    .command('rollback-auth')
    .description(
      "allow a pack below a channel's downgrade floor (release, pin or rollback to it) until an expiry",
    );

  addServerOptions(
    group
      .command('add')
      .description(
        'authorize a pack below the floor; an unexpired one of the same pack is reused (its expiry extended)',
      )
      .argument('<ENV/CHANNEL>', 'e.g. prod-eu/stable', parseChannelRef)
      .argument('<PACK>', 'pack digest (sha256:...) or NAME@VERSION', parsePackRef)
      .requiredOption('--reason <TEXT>', 'why the older pack is allowed', parseReason)
      .requiredOption(
        '--expires <DURATION>',
        'how long the authorization holds, e.g. 24h',
        parsePositiveDuration,
      ),
  ).action((ref: ChannelRef, pack: string, options: AddOptions) =>
    addRollbackAuthorization(context, ref, pack, options),
  );

  addServerOptions(
    group
      .command('list')
      .description("list a channel's unexpired rollback authorizations")
      .argument('<ENV/CHANNEL>', 'e.g. prod-eu/stable', parseChannelRef),
  ).action((ref: ChannelRef, options: ServerOptions) =>
    listRollbackAuthorizations(context, ref, options),
  );

  addServerOptions(
    group
      .command('revoke')
      .description('revoke a rollback authorization (the channel index is re-signed without it)')
      .argument('<ENV/CHANNEL>', 'e.g. prod-eu/stable', parseChannelRef)
      .argument('<ID>', 'authorization id (rba_...)', parseRollbackAuthorizationId)
      .requiredOption('--reason <TEXT>', 'why it is revoked', parseReason),
  ).action((ref: ChannelRef, id: string, options: RevokeOptions) =>
    revokeRollbackAuthorization(context, ref, id, options),
  );
}
