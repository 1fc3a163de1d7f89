/**
 * Codes the CLI raises itself, for failures that happen before or around a call to core or
 * the server. Everything else carries a core `ErrorCode` (LockgateError) or the code the
 * server answered with.
 */
export const CLI_ERROR_CODES = {
  SERVER_UNREACHABLE: 'The Lockgate server could not be reached or did not answer in time.',
  SERVER_RESPONSE_INVALID: 'The server answered with something that is not the expected JSON.',
  FILE_EXISTS: 'An output file already exists and is not overwritten.',
  FILE_UNREADABLE: 'An input file or directory could not be read.',
  FILE_UNWRITABLE: 'An output file could not be written.',
  PACK_SOURCE_UNSUPPORTED: 'The pack source directory holds something other than regular files.',
  RELEASE_NOT_COMPLETED:
    'A release followed with --wait ended, paused or waits for approvals instead of completing.',
  REPLAY_MISMATCH:
    'A replay of a release found decisions the current core does not decide the same way.',
} as const;

export type CliErrorCode = keyof typeof CLI_ERROR_CODES;

/** A refusal or failure raised by the CLI itself (exit 1). */
export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly details: Record<string, unknown>;

  constructor(
    code: CliErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** A refusal from the server whose code this CLI does not know; shown with the server's code. */
export class ServerError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, status: number, details: Record<string, unknown>) {
    super(message);
    this.name = 'ServerError';
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/** A command line that is not valid: exit 2, like commander's own usage errors. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
