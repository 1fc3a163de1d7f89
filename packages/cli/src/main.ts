import process from 'node:process';
import { loadCliConfig } from './config.ts';
import type { CliIo } from './io.ts';
import { run } from './program.ts';
import { silenceSqliteExperimentalWarning } from '@lockgate/server/warnings';

// The `lockgate` binary. The only place that reads process.env, argv and signals.
silenceSqliteExperimentalWarning(process);

const config = loadCliConfig(process.env);

const io: CliIo = {
  stdout: (text) => {
    process.stdout.write(text);
  },
  stderr: (text) => {
    process.stderr.write(text);
  },
  cwd: process.cwd(),
  now: () => new Date(),
  fetch: globalThis.fetch,
  interactive: process.stdout.isTTY,
  untilShutdown: () =>
    new Promise((resolve) => {
      const onSignal = (signal: NodeJS.Signals): void => {
        // A second signal while closing takes Node's default action and ends the process.
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve(signal);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }),
};

process.exitCode = await run(process.argv.slice(2), io, config);
