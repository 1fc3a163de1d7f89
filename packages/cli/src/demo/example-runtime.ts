// The example runtime (examples/runtime, the workspace package @lockgate/example-runtime); the
// demo runs it in-process next to each agent.
export { createRuntime } from '@lockgate/example-runtime';
export type { Runtime } from '@lockgate/example-runtime';
