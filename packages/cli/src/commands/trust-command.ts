import type { Command } from 'commander';
import { itemsOf, objectField } from '../api-client.ts';
import type { TrustedKeyView } from '@lockgate/api';
import { addServerOptions, clientFor, readInputFile } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';
import { printResult } from '../output.ts';

interface AddOptions extends ServerOptions {
  name?: string;
}

function keyLine(key: TrustedKeyView): string {
  return `${key.keyId}  ${key.name ?? '-'}  added ${key.addedAt}`;
}

/** Makes the server trust a build signing key (idempotent). */
export async function addTrustedKey(
  context: CommandContext,
  fileArgument: string,
  options: AddOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const publicKeyPem = (await readInputFile(context, fileArgument, 'public key')).toString('utf8');
  const response = await client.request('POST', '/api/v1/trust/keys', {
    json: { publicKeyPem, ...(options.name === undefined ? {} : { name: options.name }) },
  });
  const key = objectField<TrustedKeyView>(response.body, 'key');
  const created = response.status === 201;
  printResult(
    context.io,
    options.json === true,
    `${created ? 'trusted' : 'already trusted'} ${keyLine(key)}`,
    { key, created },
  );
}

export async function listTrustedKeys(
  context: CommandContext,
  options: ServerOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('GET', '/api/v1/trust/keys');
  const items = itemsOf<TrustedKeyView>(response.body);
  printResult(
    context.io,
    options.json === true,
    items.length === 0 ? 'no trusted keys' : items.map(keyLine).join('\n'),
    { items },
  );
}

export async function removeTrustedKey(
  context: CommandContext,
  keyId: string,
  options: ServerOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request(
    'DELETE',
    `/api/v1/trust/keys/${encodeURIComponent(keyId)}`,
  );
  const key = objectField<TrustedKeyView>(response.body, 'key');
  printResult(context.io, options.json === true, `no longer trusted ${keyLine(key)}`, { key });
}

export function registerTrustCommands(program: Command, context: CommandContext): void {
  const trust = program
    .command('trust')
    .description('manage the build signing keys the server trusts');

  addServerOptions(
    trust
      .command('add')
      .description('trust a public key (SPKI PEM) for pack signatures')
      .argument('<PUBKEY_FILE>', 'public key file')
      .option('--name <NAME>', 'a name to recognise the key by'),
  ).action((file: string, options: AddOptions) => addTrustedKey(context, file, options));

  addServerOptions(trust.command('list').description('list trusted keys')).action(
    (options: ServerOptions) => listTrustedKeys(context, options),
  );

  addServerOptions(
    trust
      .command('remove')
      .description('stop trusting a key')
      .argument('<KEY_ID>', 'key id (hex sha256 of the SPKI DER)'),
  ).action((keyId: string, options: ServerOptions) => removeTrustedKey(context, keyId, options));
}
