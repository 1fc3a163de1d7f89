import { Command } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import type { CommandContext } from './command-context.ts';
import { registerBuildCommands } from './commands/build-command.ts';
import { registerKeysCommands } from './commands/keys-command.ts';
import { registerPackCommands } from './commands/pack-command.ts';
import { registerServerCommand } from './commands/server-command.ts';
import { registerTrustCommands } from './commands/trust-command.ts';
import type { CliConfig } from './config.ts';
import type { CliIo } from './io.ts';
import { EXIT_OK, reportError } from './output.ts';

/** The `lockgate` command tree, writing through io. Usage errors throw instead of exiting. */
export function buildProgram(context: CommandContext): Command {
  const program = new Command('lockgate')
    .description('Lockgate: move signed, gated packs into a fleet, safely.')
    .version(packageJson.version, '-V, --version', 'print the version')
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (text) => context.io.stdout(text),
      writeErr: (text) => context.io.stderr(text),
    });
  registerServerCommand(program, context);
  registerKeysCommands(program, context);
  registerPackCommands(program, context);
  registerBuildCommands(program, context);
  registerTrustCommands(program, context);
  return program;
}

/**
 * Runs one command line (arguments after the program name) and returns the exit code:
 * 0 success, 1 refused or failed (`CODE: sentence` on stderr), 2 usage error.
 */
export async function run(argv: readonly string[], io: CliIo, config: CliConfig): Promise<number> {
  const program = buildProgram({ io, config });
  let json = false;
  program.hook('preAction', (_program, actionCommand) => {
    json = actionCommand.opts<{ json?: boolean }>().json === true;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    return reportError(io, json, error);
  }
}
