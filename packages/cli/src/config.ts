/** Where the `lockgate` command talks to, taken once from the environment by `main.ts`. */
export interface CliConfig {
  /** LOCKGATE_SERVER: base URL of the Lockgate server; `--server` wins over it. */
  readonly server: string | undefined;
  /** LOCKGATE_TOKEN: bearer token for the server API; `--token` wins over it. */
  readonly token: string | undefined;
  /** A frozen copy of the environment, handed to `loadServerConfig` by `lockgate server`. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:7070';

/** The CLI's one config loader. Only `main.ts` calls it with `process.env`. */
export function loadCliConfig(env: Readonly<Record<string, string | undefined>>): CliConfig {
  const nonEmpty = (value: string | undefined): string | undefined =>
    value === undefined || value.trim() === '' ? undefined : value.trim();
  return Object.freeze({
    server: nonEmpty(env['LOCKGATE_SERVER']),
    token: nonEmpty(env['LOCKGATE_TOKEN']),
    env: Object.freeze({ ...env }),
  });
}
