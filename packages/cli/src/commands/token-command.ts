import type { Command } from 'commander';
import { bodyObject, itemsOf, objectField } from '../api-client.ts';
import type { TokenView } from '../api-types.ts';
import { CliError } from '../cli-error.ts';
import { addServerOptions, clientFor } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';
import { parseTokenName, parseTokenRole } from '../option-values.ts';
import type { TokenRole } from '../option-values.ts';
import { printResult } from '../output.ts';

interface CreateOptions extends ServerOptions {
  role: TokenRole;
}

function tokenPath(name: string): string {
  return `/api/v1/tokens/${encodeURIComponent(name)}`;
}

function tokenLine(token: TokenView): string {
  const revoked = token.revokedAt === null ? '' : `  revoked ${token.revokedAt}`;
  return `${token.name}  ${token.role}  created ${token.createdAt}${revoked}`;
}

/** Creates an API token and prints its secret, which the server never shows again. */
export async function createToken(
  context: CommandContext,
  name: string,
  options: CreateOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('POST', '/api/v1/tokens', {
    json: { name, role: options.role },
  });
  const token = objectField<TokenView>(response.body, 'token');
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
  const items = itemsOf<TokenView>(response.body);
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
  const token = objectField<TokenView>(response.body, 'token');
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
        'admin (everything), operator (all but tokens) or agent (what an agent calls)',
        parseTokenRole,
        'operator',
      ),
  ).action((name: string, options: CreateOptions) => createToken(context, name, options));

  addServerOptions(token.command('list').description('list tokens, revoked ones too')).action(
    (options: ServerOptions) => listTokens(context, options),
  );

  addServerOptions(
    token
      .command('revoke')
      .description('revoke a token: refused by the server from now on')
      .argument('<NAME>', 'token name', parseTokenName),
  ).action((name: string, options: ServerOptions) => revokeToken(context, name, options));
}
