import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ApiClient } from './api-client.ts';
import { CliError, UsageError } from './cli-error.ts';
import { DEFAULT_SERVER_URL } from './config.ts';
import type { CliConfig } from './config.ts';
import type { CliIo } from './io.ts';
import { parseServerUrl } from './option-values.ts';

/** What every command gets: the process around it and the loaded config. */
export interface CommandContext {
  io: CliIo;
  config: CliConfig;
}

export interface JsonOption {
  json?: boolean;
}

export interface ServerOptions extends JsonOption {
  server?: string;
  token?: string;
}

export function addJsonOption(command: Command): Command {
  return command.option('--json', 'print the result as JSON (for scripts)');
}

export function addServerOptions(command: Command): Command {
  return addJsonOption(command)
    .option(
      '--server <URL>',
      `Lockgate server URL (default: LOCKGATE_SERVER or ${DEFAULT_SERVER_URL})`,
      parseServerUrl,
    )
    .option('--token <TOKEN>', 'bearer token for the server API (default: LOCKGATE_TOKEN)');
}

/** An API client from --server/--token, else LOCKGATE_SERVER/LOCKGATE_TOKEN. */
export function clientFor(context: CommandContext, options: ServerOptions): ApiClient {
  const server = options.server ?? context.config.server ?? DEFAULT_SERVER_URL;
  if (options.server === undefined && context.config.server !== undefined) {
    try {
      parseServerUrl(context.config.server);
    } catch {
      throw new UsageError(`LOCKGATE_SERVER must be an http:// or https:// URL, not '${server}'`);
    }
  }
  const token = options.token ?? context.config.token;
  if (token === undefined || token === '') {
    throw new UsageError('A token is required: pass --token or set LOCKGATE_TOKEN');
  }
  return new ApiClient({ server, token, fetch: context.io.fetch });
}

export function resolvePath(context: CommandContext, path: string): string {
  return resolve(context.io.cwd, path);
}

/** Reads an input file named on the command line; FILE_UNREADABLE names it and says why. */
export async function readInputFile(
  context: CommandContext,
  path: string,
  what: string,
): Promise<Buffer> {
  const absolute = resolvePath(context, path);
  try {
    return await readFile(absolute);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new CliError('FILE_UNREADABLE', `Cannot read ${what} ${path} (${reason})`, {
      details: { path: absolute },
      cause: error,
    });
  }
}
