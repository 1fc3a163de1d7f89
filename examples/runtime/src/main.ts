import process from 'node:process';
import { parseArgs } from 'node:util';
import { createRuntime } from './runtime.ts';

// node examples/runtime/src/main.ts --port P --pack-dir DIR/current [--host 127.0.0.1]
const usage =
  'usage: node examples/runtime/src/main.ts --pack-dir DIR [--port P] [--host H] [--poll-ms MS]\n';

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n${usage}`);
  process.exit(2);
}

let values: {
  'pack-dir'?: string;
  port?: string;
  host?: string;
  'poll-ms'?: string;
  help?: boolean;
};
try {
  ({ values } = parseArgs({
    options: {
      'pack-dir': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'poll-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

if (values.help === true) {
  process.stdout.write(usage);
  process.exit(0);
}
const packDir = values['pack-dir'];
if (packDir === undefined || packDir === '') fail('--pack-dir is required');
const port = Number(values.port ?? '0');
if (!Number.isInteger(port) || port < 0 || port > 65535) fail('--port must be 0-65535');
const pollIntervalMs = Number(values['poll-ms'] ?? '200');
if (!Number.isInteger(pollIntervalMs) || pollIntervalMs < 10) fail('--poll-ms must be ≥ 10');

const runtime = await createRuntime({
  packDir,
  port,
  host: values.host ?? '127.0.0.1',
  pollIntervalMs,
});
const initial = runtime.status();
process.stdout.write(
  `example runtime listening on ${runtime.url} (pack dir ${packDir}: ${
    initial.healthy ? 'loaded' : (initial.problem ?? 'unhealthy')
  })\n`,
);

const stop = (signal: NodeJS.Signals): void => {
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  process.stderr.write(`${signal}: stopping the runtime\n`);
  void runtime.close();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
