import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { bodyObject, itemsOf, objectField } from '../api-client.ts';
import type { TokenView } from '@lockgate/api';
import { CliError, UsageError } from '../cli-error.ts';
import { addServerOptions, clientFor } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';
import { parseTokenName, parseTokenRole } from '../option-values.ts';
import type { TokenRole } from '../option-values.ts';
import { printResult } from '../output.ts';

interface CreateOptions extends ServerOptions {
  role: TokenRole;
  target?: string[];
  channel?: string[];
}

/** What an agent token speaks for (the server's token scope; docs/security.md). */
interface TokenScope {
  targets: string[];
  channels: string[];
}

/** A token as the server shows it: agent tokens carry their scope. */
type ScopedTokenView = TokenView & { scope?: TokenScope };

const TARGET_PATTERN = /^[A-Za-z0-9*][A-Za-z0-9._:*-]{0,254}$/;
const NAME_OR_ANY = '(?:\\*|[a-z0-9][a-z0-9-]{0,62})';
const CHANNEL_PATTERN = new RegExp(`^${NAME_OR_ANY}/${NAME_OR_ANY}$`);

/** `--target ID|PATTERN`, repeatable: a target id, `*` standing for any run of characters. */
export function collectTargetPattern(value: string, previous: string[] | undefined): string[] {
  if (!TARGET_PATTERN.test(value)) {
    throw new InvalidArgumentError(
      `Expected a target id or pattern (letters, digits, . _ : - and *), e.g. host-1 or host-*, not '${value}'.`,
    );
  }
  return [...(previous ?? []), value];
}

/** `--channel ENV/CHANNEL|ENV/*`, repeatable. */
export function collectChannelPattern(value: string, previous: string[] | undefined): string[] {
  if (!CHANNEL_PATTERN.test(value)) {
    throw new InvalidArgumentError(
      `Expected ENV/CHANNEL or ENV/* (names: a-z 0-9 -), e.g. prod-eu/stable, not '${value}'.`,
    );
  }
  return [...(previous ?? []), value];
}

/** The scope of a token to create: both lists for an agent token, neither for other roles. */
function scopeOf(options: CreateOptions): TokenScope | null {
  const targets = options.target ?? [];
  const channels = options.channel ?? [];
  if (options.role !== 'agent') {
    if (targets.length === 0 && channels.length === 0) return null;
    throw new UsageError(
      `--target and --channel are for agent tokens (--role agent); a ${options.role} token acts for every target`,
    );
  }
  if (targets.length === 0 || channels.length === 0) {
    throw new UsageError(
      'An agent token speaks only for its scope: give --target ID|PATTERN and --channel ENV/CHANNEL (each repeatable)',
    );
  }
  return { targets, channels };
}

function tokenPath(name: string): string {
  return `/api/v1/tokens/${encodeURIComponent(name)}`;
}

function tokenLine(token: ScopedTokenView): string {
  const scope =
    token.scope === undefined
      ? ''
      : token.scope.targets.length === 0 || token.scope.channels.length === 0
        ? '  scope nothing'
        : `  targets ${token.scope.targets.join(',')}  channels ${token.scope.channels.join(',')}`;
  const revoked = token.revokedAt === null ? '' : `  revoked ${token.revokedAt}`;
  return `${token.name}  ${token.role}  created ${token.createdAt}${scope}${revoked}`;
}

/** Creates an API token and prints its secret, which the server never shows again. */
export async function createToken(
  context: CommandContext,
  name: string,
  options: CreateOptions,
): Promise<void> {
  const scope = scopeOf(options);
  const client = clientFor(context, options);
  const response = await client.request('POST', '/api/v1/tokens', {
    json: { name, role: options.role, ...(scope === null ? {} : { scope }) },
  });
  const token = objectField<ScopedTokenView>(response.body, 'token');
  const { secret } = bodyObject<{ secret?: unknown }>(response.body);
  if (typeof secret !== 'string' || secret === '') {
    throw new CliError('SERVER_RESPONSE_INVALID', "The server's answer lacks the string 'secret'");
  }
  printResult(
    context.io,
    options.json === true,
    `created token ${tokenLine(token)}\n` +
      `secret (shown only now; pass it as --token or LOCKGATE_TOKEN):\n${secret}`,
    { token, secret },
  );
}

export async function listTokens(context: CommandContext, options: ServerOptions): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('GET', '/api/v1/tokens');
  const items = itemsOf<ScopedTokenView>(response.body);
  printResult(
    context.io,
    options.json === true,
    items.length === 0 ? 'no tokens' : items.map(tokenLine).join('\n'),
    { items },
  );
}

export async function revokeToken(
  context: CommandContext,
  name: string,
  options: ServerOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('DELETE', tokenPath(name));
  const token = objectField<ScopedTokenView>(response.body, 'token');
  printResult(context.io, options.json === true, `revoked token ${tokenLine(token)}`, { token });
}

export function registerTokenCommands(program: Command, context: CommandContext): void {
  const token = program
    .command('token')
    .description('manage API tokens: the principals that act on the server (admin token needed)');

  addServerOptions(
    token
      .command('create')
      .description('create a token and print its secret once')
      .argument('<NAME>', 'the principal, recorded as actor', parseTokenName)
      .option(
        '--role <ROLE>',
        'admin (everything), operator (all but tokens), viewer (read only) or agent (what an ' +
          'agent calls, within its scope)',
        parseTokenRole,
        'operator',
      )
      .option(
        '--target <ID|PATTERN>',
        'agent tokens: a target id it speaks for, or a pattern (host-*); repeatable',
        collectTargetPattern,
      )
      .option(
        '--channel <ENV/CHANNEL>',
        'agent tokens: a channel its targets are in, or ENV/* for every channel of ENV; repeatable',
        collectChannelPattern,
      ),
  ).action((name: string, options: CreateOptions) => createToken(context, name, options));

  addServerOptions(token.command('list').description('list tokens, revoked ones too')).action(
    (options: ServerOptions) => listTokens(context, options),
  );

  addServerOptions(
    token
      .command('revoke')
      .description('revoke a token: refused by the server from now on, its event streams end')
      .argument('<NAME>', 'token name', parseTokenName),
  ).action((name: string, options: ServerOptions) => revokeToken(context, name, options));
}
