export { run, buildProgram } from './program.ts';
export { loadCliConfig, DEFAULT_SERVER_URL } from './config.ts';
export type { CliConfig } from './config.ts';
export type { CliIo } from './io.ts';
export { EXIT_OK, EXIT_FAILED, EXIT_USAGE } from './output.ts';
export { CLI_ERROR_CODES, CliError } from './cli-error.ts';
export type { CliErrorCode } from './cli-error.ts';
