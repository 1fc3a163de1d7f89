export * from './pack-refusal.ts';
export * from './channel-state.ts';
export * from './rollback-grant.ts';
export * from './decide-channel.ts';
export * from './release-changes.ts';
export * from './channel-call.ts';
