import { ServerError } from '../cli-error.ts';

/**
 * The demo's own failures (exit 1). They ride on ServerError, the CLI's error for codes it
 * does not list itself, so `reportError` prints them like any other coded failure.
 */
export class DemoFailedError extends ServerError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('DEMO_FAILED', message, 0, details);
    this.name = 'DemoFailedError';
  }
}

/** SIGINT or SIGTERM arrived while the scenario ran; everything was stopped. */
export class DemoInterruptedError extends ServerError {
  constructor(signal: string) {
    super('DEMO_INTERRUPTED', `The demo was stopped by ${signal} before the scenario ended`, 0, {
      signal,
    });
    this.name = 'DemoInterruptedError';
  }
}
