import { createServer } from 'node:http';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '../../src/features/webhooks/webhook-signature.ts';
import type { SignatureCheck } from '../../src/features/webhooks/webhook-signature.ts';

export interface ReceivedPost {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** the receiver's own check of the signature with the secret it was given */
  check: SignatureCheck;
  /** the status it answered */
  status: number;
}

/**
 * A webhook receiver on loopback, written as a user would write one: it verifies the
 * Lockgate-Signature of the raw body with the shared secret (tolerance 300 s) and answers
 * with the next status of `statuses` (then 204), or holds the request open when told to hang.
 */
export interface WebhookReceiver {
  url: string;
  posts: ReceivedPost[];
  setSecret(secret: string): void;
  /** statuses to answer with, in order, before answering 204 */
  answerWith(...statuses: number[]): void;
  /** hold requests open (never answer) until released */
  hang(on: boolean): void;
  /** requests being held open right now */
  held(): number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  let secret = '';
  const queue: number[] = [];
  let hanging = false;
  const open = new Set<ServerResponse>();
  const posts: ReceivedPost[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (hanging) {
        open.add(response);
        response.on('close', () => open.delete(response));
        return;
      }
      const header = request.headers['lockgate-signature'];
      const check = verifyWebhookSignature(
        secret,
        Array.isArray(header) ? header[0] : header,
        body,
        Math.floor(Date.now() / 1000),
      );
      const status = check.ok ? (queue.shift() ?? 204) : 401;
      posts.push({ path: request.url ?? '/', headers: request.headers, body, check, status });
      response.statusCode = status;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    posts,
    setSecret: (value) => {
      secret = value;
    },
    answerWith: (...statuses) => queue.push(...statuses),
    hang: (on) => {
      hanging = on;
      if (!on) for (const response of open) response.destroy();
    },
    held: () => open.size,
    close: async () => {
      for (const response of open) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
