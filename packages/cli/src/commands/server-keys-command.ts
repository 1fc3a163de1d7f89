import type { Command } from 'commander';
import { parsePublicKey } from '@lockgate/core';
import { itemsOf } from '../api-client.ts';
import type { ServerKeyView } from '@lockgate/api';
import { writeNewFile } from '../atomic-write.ts';
import { CliError } from '../cli-error.ts';
import { addServerOptions, clientFor, resolvePath } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';
import { printResult } from '../output.ts';

interface KeysOptions extends ServerOptions {
  out?: string;
}

/**
 * Fetches the server's channel-index signing keys. Each key id is checked against its PEM (the
 * key id is the sha256 of the SPKI DER), so the file written with --out holds exactly the keys
 * listed. Agents pin that file with --trust-server.
 */
export async function serverKeys(context: CommandContext, options: KeysOptions): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('GET', '/api/v1/server/keys');
  const items = itemsOf<ServerKeyView>(response.body);
  for (const key of items) {
    let keyId: string;
    try {
      keyId = parsePublicKey(key.publicKeyPem).keyId;
    } catch (error) {
      throw new CliError(
        'SERVER_RESPONSE_INVALID',
        `The server's key ${key.keyId} is not an Ed25519 public key`,
        { details: { keyId: key.keyId }, cause: error },
      );
    }
    if (keyId !== key.keyId) {
      throw new CliError(
        'SERVER_RESPONSE_INVALID',
        `The server's key ${key.keyId} has the id ${keyId} by its PEM`,
        { details: { keyId: key.keyId, computed: keyId } },
      );
    }
  }
  let out: string | null = null;
  if (options.out !== undefined) {
    if (items.length === 0) {
      throw new CliError('SERVER_RESPONSE_INVALID', 'The server listed no channel-index key', {
        details: {},
      });
    }
    out = resolvePath(context, options.out);
    const pem = items
      .map((key) => (key.publicKeyPem.endsWith('\n') ? key.publicKeyPem : `${key.publicKeyPem}\n`))
      .join('');
    await writeNewFile(out, pem, 0o644);
  }
  const lines =
    items.length === 0 ? ['no server keys'] : items.map((key) => `${key.keyId}  ${key.use}`);
  if (out !== null) {
    lines.push(`wrote ${out} (pin it in agents with --trust-server)`);
  } else {
    lines.push(...items.map((key) => key.publicKeyPem.trimEnd()));
  }
  printResult(context.io, options.json === true, lines.join('\n'), {
    items,
    ...(out === null ? {} : { file: out }),
  });
}

/** Adds `lockgate server keys` under the `server` command. */
export function registerServerKeysCommand(program: Command, context: CommandContext): void {
  const server = program.commands.find((command) => command.name() === 'server');
  if (server === undefined) {
    throw new Error('the server command must be registered before server keys');
  }
  addServerOptions(
    server
      .command('keys')
      .description("show the server's channel-index signing public key(s)")
      .option('--out <FILE>', 'write the PEM to FILE (never overwritten) for agents to pin'),
  ).action((options: KeysOptions) => serverKeys(context, options));
}
