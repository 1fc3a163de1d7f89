import type { ErrorCode } from '@lockgate/core';

/**
 * Codes the agent reports for outcomes that are not a verification failure (those carry the
 * core `ErrorCode` of the step that failed, e.g. PACK_FILE_HASH_MISMATCH).
 */
export const AGENT_CODES = {
  HEALTH_CHECK_FAILED:
    'The health check did not pass during the trial, so the agent went back to the previous pack.',
  TRIAL_INTERRUPTED:
    'The agent stopped during a trial too often (or the trial pack no longer verifies); it went back to the previous pack.',
  ACTIVATION_FAILED:
    'Installing or switching to the pack failed on the local file system; what runs did not change.',
  SERVER_UNREACHABLE: 'The Lockgate server could not be reached or answered with an error.',
  CACHE_FULL: 'The pack does not fit in the cache size bound.',
  STATE_INVALID: 'The agent directory holds a state or trial file that does not parse.',
  INDEX_TOO_LARGE:
    'The channel index answer is larger than maxIndexBytes; the agent stopped reading it and keeps what it runs.',
  EVENT_TOO_LARGE:
    'A line or event on the event stream is larger than maxEventBytes; the agent closed the stream and reconnects.',
} as const;

export type AgentCode = keyof typeof AGENT_CODES;

/** What a failed attempt or a refusal carries: a core error code or an agent code. */
export type AttemptCode = ErrorCode | AgentCode;

/** A failure of the agent itself (not of a pack's verification), with an agent code. */
export class AgentError extends Error {
  readonly code: AgentCode;
  readonly details: Record<string, unknown>;

  constructor(
    code: AgentCode,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AgentError';
    this.code = code;
    this.details = options.details ?? {};
  }
}
