import { readFile } from 'node:fs/promises';
import { parseVerifierKey } from '@lockgate/core';
import type { NoteVerifier } from '@lockgate/core';
import { bodyObject } from '../api-client.ts';
import { CliError, UsageError } from '../cli-error.ts';
import { clientFor, resolvePath } from '../command-context.ts';
import type { CommandContext, ServerOptions } from '../command-context.ts';

/** What the witness and `log verify` read from a server's transparency log. */
export interface LogClient {
  server: string;
  /** the latest checkpoint note (text/plain) */
  checkpoint(): Promise<string>;
  consistency(from: number, to: number): Promise<string[]>;
  entry(seq: number): Promise<{ seq: number; leafHash: string; envelope: unknown }>;
  checkpoints(after: number): Promise<{ size: number; note: string }[]>;
  key(): Promise<{ origin: string; verifierKey: string; keyId: string; publicKeyPem: string }>;
  postCosignature(checkpoint: string, cosignature: string): Promise<void>;
}

export function logClientFor(context: CommandContext, options: ServerOptions): LogClient {
  const client = clientFor(context, options);
  const token = options.token ?? context.config.token ?? '';
  return {
    server: client.server,
    async checkpoint() {
      let response: Response;
      try {
        response = await context.io.fetch(`${client.server}/api/v1/log/checkpoint`, {
          headers: { authorization: `Bearer ${token}`, accept: 'text/plain' },
          signal: AbortSignal.timeout(30_000),
        });
      } catch (error) {
        throw new CliError('SERVER_UNREACHABLE', `Cannot reach the server at ${client.server}`, {
          details: { server: client.server },
          cause: error,
        });
      }
      const text = await response.text();
      if (!response.ok) {
        // the JSON error of the server, through the API client's handling
        await client.request('GET', '/api/v1/log/checkpoint');
        throw new CliError(
          'SERVER_RESPONSE_INVALID',
          `The checkpoint answer was ${response.status}`,
        );
      }
      return text;
    },
    async consistency(from, to) {
      const { body } = await client.request('GET', '/api/v1/log/proofs/consistency', {
        query: { from, to },
      });
      return bodyObject<{ proof: string[] }>(body).proof;
    },
    async entry(seq) {
      const { body } = await client.request('GET', `/api/v1/log/entries/${seq}`);
      return bodyObject(body);
    },
    async checkpoints(after) {
      const { body } = await client.request('GET', '/api/v1/log/checkpoints', {
        query: { after, limit: 1000 },
      });
      return bodyObject<{ items: { size: number; note: string }[] }>(body).items;
    },
    async key() {
      const { body } = await client.request('GET', '/api/v1/log/key');
      return bodyObject(body);
    },
    async postCosignature(checkpoint, cosignature) {
      await client.request('POST', '/api/v1/log/cosignatures', {
        json: { checkpoint, cosignature },
      });
    },
  };
}

/** A log verifier key given as `name+id+key` or as a file holding one. */
export async function logKeyOption(context: CommandContext, value: string): Promise<NoteVerifier> {
  let text = value;
  if (!/^[^+\s]+\+[0-9a-f]{8}\+/.test(value)) {
    try {
      text = (await readFile(resolvePath(context, value), 'utf8')).trim();
    } catch {
      throw new UsageError(`--log-key must be a verifier key name+id+key or a file holding one`);
    }
  }
  return parseVerifierKey(text);
}
