import { Command } from 'commander';
import type { HelpContext } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import type { CommandContext } from './command-context.ts';
import { registerAgentCommand } from './commands/agent-command.ts';
import { registerBackupCommands } from './commands/backup-command.ts';
import { registerBuildCommands } from './commands/build-command.ts';
import { registerChannelCommands } from './commands/channel-command.ts';
import { registerDemoCommand } from './commands/demo-command.ts';
import { registerEnvCommands } from './commands/env-command.ts';
import { registerFreezeCommands } from './commands/freeze-command.ts';
import { registerGateCommands } from './commands/gate-command.ts';
import { registerEvidenceCommands } from './commands/evidence-command.ts';
import { registerKeysCommands } from './commands/keys-command.ts';
import { registerLogCommands } from './commands/log-command.ts';
import { registerPackCommands } from './commands/pack-command.ts';
import { registerPinCommands } from './commands/pin-command.ts';
import { registerPlanCommands } from './commands/plan-command.ts';
import { registerReleaseCommands } from './commands/release-command.ts';
import { registerRollbackAuthCommands } from './commands/rollback-auth-command.ts';
import { registerServerCommand } from './commands/server-command.ts';
import { registerServerKeysCommand } from './commands/server-keys-command.ts';
import { registerTargetCommands } from './commands/target-command.ts';
import { registerTokenCommands } from './commands/token-command.ts';
import { registerTrustCommands } from './commands/trust-command.ts';
import { registerWebhookCommands } from './commands/webhook-command.ts';
import { registerWitnessCommand } from './commands/witness-command.ts';
import type { CliConfig } from './config.ts';
import type { CliIo } from './io.ts';
import { EXIT_OK, reportError } from './output.ts';

/**
 * A command whose help is a success: `lockgate`, `lockgate release` (a group without its
 * subcommand) and `lockgate help release` print the help on stdout and exit 0, like `--help`.
 * Commander would print the help of a bare group on stderr as an error. `help NAME` of a
 * command that does not exist stays a usage error (exit 2).
 */
class LockgateCommand extends Command {
  override createCommand(name?: string): Command {
    return new LockgateCommand(name);
  }

  override help(context?: HelpContext): never;
  override help(cb: (str: string) => string): never;
  override help(context?: HelpContext | ((str: string) => string)): never {
    if (typeof context === 'function') return super.help(context);
    // Commander asks for error help in two cases: a group without its subcommand (no
    // arguments) and `help NAME` where NAME is not a subcommand.
    if (context?.error === true && this.args.length > 0) {
      const name = this.args[this.args.length - 1] ?? '';
      this.error(`error: unknown command '${name}'`, { code: 'commander.unknownCommand' });
    }
    return super.help();
  }
}

/** The `lockgate` command tree, writing through io. Usage errors throw instead of exiting. */
export function buildProgram(context: CommandContext): Command {
  const program = new LockgateCommand('lockgate')
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
  registerServerKeysCommand(program, context);
  registerKeysCommands(program, context);
  registerPackCommands(program, context);
  registerBuildCommands(program, context);
  registerTrustCommands(program, context);
  registerTokenCommands(program, context);
  registerEnvCommands(program, context);
  registerChannelCommands(program, context);
  registerPlanCommands(program, context);
  registerTargetCommands(program, context);
  registerReleaseCommands(program, context);
  registerGateCommands(program, context);
  registerPinCommands(program, context);
  registerRollbackAuthCommands(program, context);
  registerFreezeCommands(program, context);
  registerWebhookCommands(program, context);
  registerBackupCommands(program, context);
  registerLogCommands(program, context);
  registerEvidenceCommands(program, context);
  registerWitnessCommand(program, context);
  registerAgentCommand(program, context);
  registerDemoCommand(program, context);
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
