export * from './merkle.ts';
export * from './signed-note.ts';
export * from './checkpoint.ts';
export * from './dsse.ts';
export * from './statement.ts';
export * from './log-entry.ts';
