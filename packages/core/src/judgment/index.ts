export * from './confidence-sequence.ts';
export * from './compare-gate.ts';
export * from './compare-words.ts';
export * from './history-effect.ts';
