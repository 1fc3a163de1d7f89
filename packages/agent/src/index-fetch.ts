/**
 * One fetch of the channel index, answered as an observation for the agent machine: accepted
 * (signed by a pinned server key, unexpired, for this channel, not below the floor of the key
 * that signed it), refused (with the code) or offline. Nothing is stored here: the machine
 * decides what is saved, and in which order.
 */
import {
  CHANNEL_INDEX_PAYLOAD_TYPE,
  isLockgateError,
  preAuthEncoding,
  verifyBytes,
  verifyChannelIndex,
} from '@lockgate/core';
import type { ChannelIndexPayload, PublicKeyInfo } from '@lockgate/core';
import { AgentError } from './agent-codes.ts';
import type { Observation } from './agent-machine.ts';
import { highestSeenIndexVersion } from './agent-state.ts';
import type { AgentState, StoredIndex } from './agent-state.ts';
import type { ServerClient } from './server-client.ts';

export interface IndexFetchOptions {
  env: string;
  channel: string;
  serverKeys: readonly PublicKeyInfo[];
  clock: { now(): Date };
}

export interface IndexFetchInput {
  /** the stored index of this channel, whose ETag makes the request conditional */
  stored: StoredIndex | null;
  /** the floors the index version is checked against */
  state: Pick<AgentState, 'indexVersions'>;
  signal: AbortSignal | undefined;
}

export type IndexObservation = Extract<
  Observation,
  { type: 'index-accepted' | 'index-refused' | 'index-offline' }
>;

export async function fetchIndexObservation(
  client: ServerClient,
  options: IndexFetchOptions,
  input: IndexFetchInput,
): Promise<IndexObservation> {
  const { env, channel, serverKeys } = options;
  const { stored } = input;
  let response;
  try {
    response = await client.fetchIndex(env, channel, stored?.etag ?? null, input.signal);
  } catch (error) {
    if (error instanceof AgentError && error.code === 'INDEX_TOO_LARGE') {
      // Nothing of it is used; what runs stays, and the next sync asks again.
      return { type: 'index-refused', code: error.code, message: error.message };
    }
    const message = messageOf(error);
    const code =
      error instanceof AgentError || isLockgateError(error) ? error.code : 'SERVER_UNREACHABLE';
    return { type: 'index-offline', message, warning: { code, message } };
  }
  const envelope = response.kind === 'index' ? response.envelope : (stored?.envelope ?? null);
  if (envelope === null) {
    // A 304 without a stored index (it was removed): the next request goes without the ETag.
    const message = 'The server answered 304 but no index is stored.';
    return { type: 'index-offline', message, warning: null };
  }
  const signer = indexSignerOf(envelope, serverKeys);
  let index: ChannelIndexPayload;
  try {
    index = verifyChannelIndex(envelope, serverKeys, {
      now: options.clock.now(),
      // The floor of this channel for the key that signed it (the key is checked again here).
      highestSeenVersion:
        signer === null ? null : highestSeenIndexVersion(input.state, env, channel, signer),
      env,
      channel,
    });
  } catch (error) {
    if (!isLockgateError(error)) throw error;
    return { type: 'index-refused', code: error.code, message: error.message };
  }
  const fresh =
    response.kind === 'index'
      ? { etag: response.etag, envelope: envelope as StoredIndex['envelope'] }
      : null;
  return { type: 'index-accepted', index, signer, stored: fresh };
}

/**
 * The id of the first trusted key whose signature over the envelope verifies (the one
 * `verifyChannelIndex` accepts it on), or null when none does (it then refuses the envelope).
 */
function indexSignerOf(envelope: unknown, keys: readonly PublicKeyInfo[]): string | null {
  if (typeof envelope !== 'object' || envelope === null) return null;
  const { payloadType, payload, signatures } = envelope as Record<string, unknown>;
  if (payloadType !== CHANNEL_INDEX_PAYLOAD_TYPE || typeof payload !== 'string') return null;
  if (!Array.isArray(signatures)) return null;
  const pae = preAuthEncoding(CHANNEL_INDEX_PAYLOAD_TYPE, Buffer.from(payload, 'base64'));
  for (const entry of signatures as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { keyid, sig } = entry as Record<string, unknown>;
    if (typeof keyid !== 'string' || typeof sig !== 'string') continue;
    const key = keys.find((k) => k.keyId === keyid);
    if (key !== undefined && verifyBytes(pae, sig, key.key)) return keyid;
  }
  return null;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
