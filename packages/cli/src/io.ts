/**
 * Everything a command touches outside its arguments: output streams, the clock, the
 * working directory, the network and the stop signal. `main.ts` wires the real process;
 * tests pass their own.
 */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Resolves relative paths given on the command line. */
  cwd: string;
  now: () => Date;
  fetch: typeof fetch;
  /** True when stdout is a terminal (a watched status redraws in place). */
  interactive?: boolean;
  /** Resolves with the signal name when the process is asked to stop (SIGINT, SIGTERM). */
  untilShutdown: () => Promise<string>;
}
