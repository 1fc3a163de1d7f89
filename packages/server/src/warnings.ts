import type { EventEmitter } from 'node:events';

/** node:sqlite's "SQLite is an experimental feature" warning, which the server would print on every start. */
export function isSqliteExperimentalWarning(warning: unknown): boolean {
  return (
    warning instanceof Error &&
    warning.name === 'ExperimentalWarning' &&
    /\bSQLite\b/.test(warning.message)
  );
}

/**
 * Puts a filter in front of the 'warning' listeners (Node's default printer among them) that
 * drops only node:sqlite's ExperimentalWarning; every other warning still reaches them all.
 */
export function silenceSqliteExperimentalWarning(emitter: EventEmitter): void {
  const listeners = emitter.listeners('warning') as ((warning: Error) => void)[];
  emitter.removeAllListeners('warning');
  emitter.on('warning', (warning: Error) => {
    if (isSqliteExperimentalWarning(warning)) {
      return;
    }
    for (const listener of listeners) {
      listener.call(emitter, warning);
    }
  });
}
