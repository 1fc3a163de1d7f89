// The example runtime lives in examples/runtime (not a workspace package); the demo runs it
// in-process next to each agent. This is the one place that reaches into it.
export { createRuntime } from '../../../../examples/runtime/src/index.ts';
export type { Runtime } from '../../../../examples/runtime/src/index.ts';
