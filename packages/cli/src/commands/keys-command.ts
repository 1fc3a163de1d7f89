import { generateKeyPairSync } from 'node:crypto';
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { keyIdOf } from '@lockgate/core';
import { writeNewFile } from '../atomic-write.ts';
import { CliError } from '../cli-error.ts';
import { addJsonOption, resolvePath } from '../command-context.ts';
import type { CommandContext, JsonOption } from '../command-context.ts';
import { parseKeyName } from '../option-values.ts';
import { printResult } from '../output.ts';

interface GenerateOptions extends JsonOption {
  out: string;
  name: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return false;
    }
    throw error;
  }
}

/**
 * Generates an Ed25519 signing key pair: NAME.key (PKCS#8 PEM, 0600) and NAME.pub (SPKI PEM).
 * Randomness lives here in the shell, never in core.
 */
export async function generateKeys(
  context: CommandContext,
  options: GenerateOptions,
): Promise<void> {
  const dir = resolvePath(context, options.out);
  const privatePath = join(dir, `${options.name}.key`);
  const publicPath = join(dir, `${options.name}.pub`);
  for (const path of [privatePath, publicPath]) {
    if (await exists(path)) {
      throw new CliError('FILE_EXISTS', `${path} already exists; it is not overwritten`, {
        details: { path },
      });
    }
  }
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new CliError('FILE_UNWRITABLE', `Cannot create directory ${dir} (${code})`, {
      details: { path: dir },
      cause: error,
    });
  }

  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const keyId = keyIdOf(publicKey);

  await writeNewFile(privatePath, privatePem, 0o600);
  try {
    await writeNewFile(publicPath, publicPem, 0o644);
  } catch (error) {
    await unlink(privatePath);
    throw error;
  }

  printResult(
    context.io,
    options.json === true,
    `keyId ${keyId}\nprivate key ${privatePath} (keep it secret)\npublic key  ${publicPath}`,
    { keyId, privateKey: privatePath, publicKey: publicPath },
  );
}

export function registerKeysCommands(program: Command, context: CommandContext): void {
  const keys = program.command('keys').description('manage Ed25519 signing keys');
  addJsonOption(
    keys
      .command('generate')
      .description('generate a signing key pair: DIR/NAME.key (private) and DIR/NAME.pub')
      .requiredOption('--out <DIR>', 'directory for the key files (created if missing)')
      .requiredOption('--name <NAME>', 'base name of the key files', parseKeyName),
  ).action((options: GenerateOptions) => generateKeys(context, options));
}
