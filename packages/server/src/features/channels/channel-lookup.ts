/**
 * Finding a channel or an environment the way every feature refuses a missing one:
 * CHANNEL_NOT_FOUND when the environment exists, ENVIRONMENT_NOT_FOUND when it does not.
 */
import { LockgateError } from '@lockgate/core';
import type { StoresOf } from '../../stores.ts';
import type { StoredChannel } from './channel-store.ts';

/** The channel, or CHANNEL_NOT_FOUND / ENVIRONMENT_NOT_FOUND. */
export async function channelMissing(
  tx: StoresOf<'environments'>,
  env: string,
  name: string,
): Promise<LockgateError> {
  if ((await tx.environments.find(env)) === null) {
    return new LockgateError('ENVIRONMENT_NOT_FOUND', `No environment is named ${env}.`, {
      details: { env },
    });
  }
  return new LockgateError('CHANNEL_NOT_FOUND', `No channel ${name} in environment ${env}.`, {
    details: { env, channel: name },
  });
}

/** The channel, or CHANNEL_NOT_FOUND / ENVIRONMENT_NOT_FOUND. */
export async function findChannel(
  tx: StoresOf<'channels' | 'environments'>,
  env: string,
  name: string,
): Promise<StoredChannel> {
  const channel = await tx.channels.find(env, name);
  if (channel === null) throw await channelMissing(tx, env, name);
  return channel;
}

/** The channel, locked until the transaction ends; CHANNEL_NOT_FOUND / ENVIRONMENT_NOT_FOUND. */
export async function lockChannel(
  tx: StoresOf<'channels' | 'environments'>,
  env: string,
  name: string,
): Promise<StoredChannel> {
  const channel = await tx.channels.lock(env, name);
  if (channel === null) throw await channelMissing(tx, env, name);
  return channel;
}

export function environmentNotFound(env: string): LockgateError {
  return new LockgateError('ENVIRONMENT_NOT_FOUND', `No environment is named ${env}.`, {
    details: { env },
  });
}
