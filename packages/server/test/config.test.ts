import { isLockgateError } from '@lockgate/core';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BODY_LIMIT, loadServerConfig } from '../src/config.ts';

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (isLockgateError(error) && error.code === 'VALIDATION_FAILED') {
      return error.details['problems'] as string[];
    }
    throw error;
  }
  throw new Error('expected VALIDATION_FAILED');
}

describe('loadServerConfig', () => {
  it('uses the documented defaults with no flags and no environment', () => {
    const config = loadServerConfig({}, {});
    expect(config).toEqual({
      dataDir: resolve('.lockgate'),
      host: '127.0.0.1',
      port: 7070,
      database: { dialect: 'sqlite', path: join(resolve('.lockgate'), 'lockgate.db') },
      adminToken: null,
      logLevel: 'info',
      bodyLimit: 256 * 1024 * 1024,
      controllerIntervalMs: 2000,
      metricsAccess: 'loopback',
      prometheusUrl: null,
      errorBudget: null,
    });
    expect(DEFAULT_BODY_LIMIT).toBe(268435456);
  });

  it('turns the error budget policy on for the environments named, with its defaults', () => {
    expect(loadServerConfig({ errorBudgetFreeze: 'all' }, {}).errorBudget).toEqual({
      envs: null,
      objective: 0.999,
      window: '30d',
      windowMs: 30 * 86_400_000,
    });
    const config = loadServerConfig(
      { errorBudgetObjective: '0.99' },
      { LOCKGATE_ERROR_BUDGET_FREEZE: 'prod-eu, prod-us', LOCKGATE_ERROR_BUDGET_WINDOW: '12h' },
    );
    expect(config.errorBudget).toEqual({
      envs: ['prod-eu', 'prod-us'],
      objective: 0.99,
      window: '12h',
      windowMs: 12 * 3_600_000,
    });
  });

  it('refuses an error budget objective outside (0, 1) and a window without a unit', () => {
    const problems = problemsOf(() =>
      loadServerConfig(
        { errorBudgetFreeze: 'prod-eu', errorBudgetObjective: '1', errorBudgetWindow: '30' },
        {},
      ),
    );
    expect(problems).toEqual([
      'error budget objective "1" is not a number between 0 and 1 such as 0.999',
      'error budget window "30" is not a duration from 1m to 366d such as 30d, 12h or 90m',
    ]);
    expect(problemsOf(() => loadServerConfig({ errorBudgetFreeze: ' , ' }, {}))).toEqual([
      'error budget freeze must be `all` or a comma-separated list of environments',
    ]);
  });

  it('reads the controller interval as milliseconds or with a unit, from the flag or the environment', () => {
    expect(loadServerConfig({ controllerInterval: '100' }, {}).controllerIntervalMs).toBe(100);
    expect(loadServerConfig({ controllerInterval: 250 }, {}).controllerIntervalMs).toBe(250);
    expect(loadServerConfig({ controllerInterval: '500ms' }, {}).controllerIntervalMs).toBe(500);
    expect(loadServerConfig({ controllerInterval: '2s' }, {}).controllerIntervalMs).toBe(2000);
    expect(loadServerConfig({}, { LOCKGATE_CONTROLLER_INTERVAL: '1m' }).controllerIntervalMs).toBe(
      60_000,
    );
  });

  it('refuses a controller interval below 10 ms, above an hour, or without a number', () => {
    for (const bad of ['5', '2h', 'fast', '-1', '1.5s']) {
      expect(problemsOf(() => loadServerConfig({ controllerInterval: bad }, {}))).toEqual([
        expect.stringContaining('controller interval'),
      ]);
    }
  });

  it('returns a frozen object, database included', () => {
    const config = loadServerConfig({}, {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.database)).toBe(true);
  });

  it('resolves the data directory and puts the SQLite file in it', () => {
    const config = loadServerConfig({ data: 'some/dir' }, {});
    expect(config.dataDir).toBe(resolve('some/dir'));
    expect(config.database).toEqual({
      dialect: 'sqlite',
      path: join(resolve('some/dir'), 'lockgate.db'),
    });
  });

  it('selects PostgreSQL for postgres:// and postgresql:// URLs', () => {
    for (const url of ['postgres://u@db:5432/lg', 'postgresql://u:p@db/lg']) {
      expect(loadServerConfig({ db: url }, {}).database).toEqual({ dialect: 'postgres', url });
    }
  });

  it('treats another db value as a SQLite file path', () => {
    expect(loadServerConfig({ db: '/var/lib/lg.db' }, {}).database).toEqual({
      dialect: 'sqlite',
      path: '/var/lib/lg.db',
    });
  });

  it('refuses a URL of another database without echoing it', () => {
    const problems = problemsOf(() => loadServerConfig({ db: 'mysql://root:secret@db/x' }, {}));
    expect(problems.join(' ')).toMatch(/postgres/);
    expect(problems.join(' ')).not.toMatch(/secret/);
  });

  it('accepts ports as numbers or text, including 0', () => {
    expect(loadServerConfig({ port: 0 }, {}).port).toBe(0);
    expect(loadServerConfig({ port: '8080' }, {}).port).toBe(8080);
  });

  it('refuses ports that are not integers from 0 to 65535', () => {
    for (const port of ['abc', '-1', '65536', '80.5', '', 1.5]) {
      expect(problemsOf(() => loadServerConfig({ port }, {}))[0]).toMatch(/port/);
    }
  });

  it('refuses an unknown log level and accepts silent', () => {
    expect(loadServerConfig({ logLevel: 'silent' }, {}).logLevel).toBe('silent');
    expect(problemsOf(() => loadServerConfig({ logLevel: 'loud' }, {}))[0]).toMatch(/log level/);
  });

  it('parses body limits given as bytes or with a unit', () => {
    expect(loadServerConfig({ bodyLimit: 1024 }, {}).bodyLimit).toBe(1024);
    expect(loadServerConfig({ bodyLimit: '64MiB' }, {}).bodyLimit).toBe(64 * 1024 * 1024);
    expect(loadServerConfig({ bodyLimit: '512k' }, {}).bodyLimit).toBe(512 * 1024);
    expect(loadServerConfig({ bodyLimit: '2MB' }, {}).bodyLimit).toBe(2_000_000);
  });

  it('refuses body limits that are not positive sizes', () => {
    for (const bodyLimit of [0, '0', 'big', '10 parsecs', -5]) {
      expect(problemsOf(() => loadServerConfig({ bodyLimit }, {}))[0]).toMatch(/body limit/);
    }
  });

  it('reads the admin token from LOCKGATE_ADMIN_TOKEN only', () => {
    const token = 'a-long-enough-admin-token';
    expect(loadServerConfig({}, { LOCKGATE_ADMIN_TOKEN: token }).adminToken).toBe(token);
    expect(loadServerConfig({}, { LOCKGATE_ADMIN_TOKEN: '' }).adminToken).toBeNull();
  });

  it('refuses a short admin token', () => {
    expect(problemsOf(() => loadServerConfig({}, { LOCKGATE_ADMIN_TOKEN: 'short' }))[0]).toMatch(
      /LOCKGATE_ADMIN_TOKEN/,
    );
  });

  it('falls back to LOCKGATE_* variables when a flag is absent, and flags win', () => {
    const env = {
      LOCKGATE_DATA_DIR: '/srv/lg',
      LOCKGATE_HOST: '0.0.0.0',
      LOCKGATE_PORT: '9000',
      LOCKGATE_DATABASE_URL: 'postgres://db/lg',
      LOCKGATE_LOG_LEVEL: 'warn',
      LOCKGATE_BODY_LIMIT: '1MiB',
    };
    expect(loadServerConfig({}, env)).toMatchObject({
      dataDir: '/srv/lg',
      host: '0.0.0.0',
      port: 9000,
      database: { dialect: 'postgres', url: 'postgres://db/lg' },
      logLevel: 'warn',
      bodyLimit: 1024 * 1024,
    });
    expect(loadServerConfig({ port: 1234, host: '::1' }, env)).toMatchObject({
      port: 1234,
      host: '::1',
    });
  });

  it('reports every problem at once', () => {
    expect(problemsOf(() => loadServerConfig({ port: 'x', logLevel: 'y' }, {}))).toHaveLength(2);
  });
});
