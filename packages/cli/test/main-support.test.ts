import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { loadCliConfig } from '../src/config.ts';
import {
  isSqliteExperimentalWarning,
  silenceSqliteExperimentalWarning,
} from '@lockgate/server/warnings';

function warning(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

describe('warning filter', () => {
  it("drops node:sqlite's ExperimentalWarning and passes every other warning on", () => {
    const emitter = new EventEmitter();
    const printed: string[] = [];
    emitter.on('warning', (w: Error) => printed.push(`${w.name}: ${w.message}`));
    silenceSqliteExperimentalWarning(emitter);

    emitter.emit(
      'warning',
      warning(
        'ExperimentalWarning',
        'SQLite is an experimental feature and might change at any time',
      ),
    );
    emitter.emit(
      'warning',
      warning('ExperimentalWarning', 'VM Modules is an experimental feature'),
    );
    emitter.emit('warning', warning('DeprecationWarning', 'SQLite thing is deprecated'));

    expect(printed).toEqual([
      'ExperimentalWarning: VM Modules is an experimental feature',
      'DeprecationWarning: SQLite thing is deprecated',
    ]);
  });

  it('recognises only the SQLite experimental warning', () => {
    expect(
      isSqliteExperimentalWarning(warning('ExperimentalWarning', 'SQLite is experimental')),
    ).toBe(true);
    expect(isSqliteExperimentalWarning(warning('Warning', 'SQLite is experimental'))).toBe(false);
    expect(isSqliteExperimentalWarning('SQLite')).toBe(false);
  });
});

describe('cli config', () => {
  it('takes the server and token from the environment, ignoring blank values', () => {
    const config = loadCliConfig({ LOCKGATE_SERVER: ' http://h:1 ', LOCKGATE_TOKEN: '' });
    expect(config.server).toBe('http://h:1');
    expect(config.token).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.env)).toBe(true);
  });
});
