import { createServer } from 'node:http';

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

createServer((request, response) => {
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
