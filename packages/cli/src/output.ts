import { CommanderError } from 'commander';
import { isLockgateError } from '@lockgate/core';
import { CliError, ServerError, UsageError } from './cli-error.ts';
import type { CliIo } from './io.ts';

export const EXIT_OK = 0;
/** Refused or failed: the code and a sentence are on stderr. */
export const EXIT_FAILED = 1;
/** The command line is not valid. */
export const EXIT_USAGE = 2;

export interface Failure {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

/** Prints a command's result: the human text, or one JSON document with `--json`. */
export function printResult(io: CliIo, json: boolean, human: string, data: unknown): void {
  if (json) {
    io.stdout(`${JSON.stringify(data, null, 2)}\n`);
  } else if (human !== '') {
    io.stdout(human.endsWith('\n') ? human : `${human}\n`);
  }
}

/** A thrown value as a stable code, a sentence and details. Unknown errors become INTERNAL. */
export function failureOf(error: unknown): Failure {
  if (isLockgateError(error) || error instanceof CliError || error instanceof ServerError) {
    return { code: error.code, message: error.message, details: error.details };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message: `Unexpected error: ${message}`, details: {} };
}

/** Commander's ways of ending after printing help or the version: successes. */
const HELP_CODES: ReadonlySet<string> = new Set([
  'commander.help',
  'commander.helpDisplayed',
  'commander.version',
]);

/**
 * Reports an error and returns the exit code. Commander has already printed its own usage
 * errors; help and version output are successes.
 */
export function reportError(io: CliIo, json: boolean, error: unknown): number {
  if (error instanceof CommanderError) {
    return HELP_CODES.has(error.code) ? EXIT_OK : EXIT_USAGE;
  }
  if (error instanceof UsageError) {
    io.stderr(`error: ${error.message}\n`);
    return EXIT_USAGE;
  }
  const failure = failureOf(error);
  const sentence = /[.!?]$/.test(failure.message) ? failure.message : `${failure.message}.`;
  io.stderr(`${failure.code}: ${sentence}\n`);
  const problems = failure.details['problems'];
  if (Array.isArray(problems) && problems.length > 1) {
    for (const problem of problems) {
      io.stderr(`  - ${typeof problem === 'string' ? problem : JSON.stringify(problem)}\n`);
    }
  }
  if (json) {
    io.stdout(`${JSON.stringify({ error: failure }, null, 2)}\n`);
  }
  return EXIT_FAILED;
}
