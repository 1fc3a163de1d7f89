import type { Command } from 'commander';
import { UsageError } from '../cli-error.ts';
import { addJsonOption, readInputFile, resolvePath } from '../command-context.ts';
import type { CommandContext, JsonOption } from '../command-context.ts';
import { printResult } from '../output.ts';

interface DataOptions extends JsonOption {
  data?: string;
  db?: string;
  passphraseFile?: string;
}

interface BackupCommandOptions extends DataOptions {
  out: string;
  /** commander's --no-private-keys */
  privateKeys: boolean;
}

/** The database and data directory a backup reads or a restore writes, as `lockgate server` finds them. */
async function configOf(context: CommandContext, options: DataOptions) {
  const { loadServerConfig } = await import('@lockgate/server');
  return loadServerConfig(
    {
      data: options.data === undefined ? undefined : resolvePath(context, options.data),
      db: options.db,
    },
    context.config.env,
  );
}

async function passphraseOf(
  context: CommandContext,
  file: string | undefined,
): Promise<string | null> {
  if (file === undefined) return null;
  const text = (await readInputFile(context, file, 'passphrase file')).toString('utf8').trim();
  if (text.length < 12)
    throw new UsageError('The passphrase in --passphrase-file needs at least 12 characters');
  return text;
}

export function registerBackupCommands(program: Command, context: CommandContext): void {
  addJsonOption(
    program
      .command('backup')
      .description(
        'write a consistent backup of a server (running or not): database, pack files and keys, by direct access to its data',
      )
      .requiredOption('--out <FILE>', 'the backup file to write (.tar.gz)')
      .option(
        '--data <DIR>',
        'the server data directory (default: LOCKGATE_DATA_DIR or ./.lockgate)',
      )
      .option(
        '--db <URL>',
        'postgres://... when the server uses PostgreSQL (default: LOCKGATE_DATABASE_URL)',
      )
      .option(
        '--passphrase-file <FILE>',
        'seal the private keys and webhook secrets with the passphrase in FILE',
      )
      .option('--no-private-keys', 'leave the private keys and webhook secrets out'),
  ).action(async (options: BackupCommandOptions) => {
    const passphrase = await passphraseOf(context, options.passphraseFile);
    if (passphrase === null && options.privateKeys) {
      throw new UsageError(
        'Say what happens to the private keys: --passphrase-file FILE seals them, --no-private-keys leaves them out',
      );
    }
    if (passphrase !== null && !options.privateKeys) {
      throw new UsageError('Give --passphrase-file or --no-private-keys, not both');
    }
    const { createBackup } = await import('@lockgate/server');
    const out = resolvePath(context, options.out);
    const manifest = await createBackup({
      config: await configOf(context, options),
      out,
      passphrase,
      now: context.io.now(),
    });
    const rows = manifest.tables.reduce((sum, t) => sum + t.rows, 0);
    printResult(
      context.io,
      options.json === true,
      [
        `wrote ${options.out}`,
        `  source ${manifest.source.dialect} (${manifest.source.method})`,
        `  ${manifest.tables.length} tables, ${rows} rows, ${manifest.blobs.length} pack files`,
        `  decision log at seq ${manifest.decisionLog.lastSeq} ${manifest.decisionLog.lastDigest ?? ''}`.trimEnd(),
        `  secrets ${manifest.secrets}`,
      ].join('\n'),
      { file: out, manifest },
    );
  });

  addJsonOption(
    program
      .command('restore')
      .description(
        'restore a backup into an empty data directory (and database), then verify checksums and the decision log chain',
      )
      .argument('<FILE>', 'the backup file')
      .option('--data <DIR>', 'the new data directory (default: LOCKGATE_DATA_DIR or ./.lockgate)')
      .option('--db <URL>', 'an empty PostgreSQL database to restore into (default: SQLite in DIR)')
      .option('--passphrase-file <FILE>', 'the passphrase the backup was sealed with'),
  ).action(async (file: string, options: DataOptions) => {
    const { restoreBackup } = await import('@lockgate/server');
    const report = await restoreBackup({
      file: resolvePath(context, file),
      config: await configOf(context, options),
      passphrase: await passphraseOf(context, options.passphraseFile),
    });
    const rows = Object.values(report.rows).reduce((sum, n) => sum + n, 0);
    printResult(
      context.io,
      options.json === true,
      [
        `restored ${file} (made ${report.manifest.createdAt})`,
        `  ${rows} rows, ${report.blobs} pack files: checksums verified`,
        `  decision log: ${report.decisionLog.records} records, chain verified to seq ${report.decisionLog.lastSeq}`,
        ...report.notes.map((note) => `  note: ${note}`),
      ].join('\n'),
      report,
    );
  });
}
