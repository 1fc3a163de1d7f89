import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';

/**
 * The baseline: a bare node:http server on loopback answering what Lockgate's hot routes answer,
 * a small JSON body (GET) or 202 after reading the body (POST), with no framework, no database.
 */
const port = Number(process.argv[2] ?? '0');
const desired = JSON.stringify({
  pack: `sha256:${'a'.repeat(64)}`,
  reason: 'rollout',
  indexVersion: 7,
});
const accepted = JSON.stringify({ accepted: true });

const streams = new Set<ServerResponse>();
let version = 0;

createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/events') {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    response.write(`event: index\ndata: {"version":${version}}\n\n`);
    streams.add(response);
    request.on('close', () => streams.delete(response));
    return;
  }
  if (request.method === 'POST' && request.url === '/publish') {
    version += 1;
    for (const stream of streams) stream.write(`event: index\ndata: {"version":${version}}\n\n`);
    response.writeHead(204);
    response.end();
    return;
  }
  if (request.method === 'GET') {
    response.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(desired),
    });
    response.end(desired);
    return;
  }
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    response.writeHead(202, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(accepted),
    });
    response.end(accepted);
  });
}).listen(port, '127.0.0.1');
