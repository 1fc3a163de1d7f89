export * from './confidence-sequence.ts';
export * from './compare-gate.ts';
