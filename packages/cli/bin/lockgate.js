#!/usr/bin/env node
// Launcher for `lockgate`: runs src/main.ts on a Node that strips TypeScript types, else
// re-runs the same command line on the repository's pinned Node (the `node` dev dependency).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const mainUrl = new URL('../src/main.ts', import.meta.url);

function stripsTypes() {
  if (process.features.typescript !== undefined) {
    return Boolean(process.features.typescript);
  }
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
}

if (stripsTypes()) {
  // Older type-stripping Nodes warn that stripping is experimental; that one warning is noise here.
  const listeners = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'ExperimentalWarning' && /type strip/i.test(warning.message)) return;
    for (const listener of listeners) listener.call(process, warning);
  });
  await import(mainUrl.href);
} else {
  let pinnedNode;
  try {
    pinnedNode = createRequire(import.meta.url).resolve('node/bin/node');
  } catch {
    process.stderr.write(
      `lockgate needs Node >= 22.18 (this is ${process.version}); run npm install to get the pinned Node.\n`,
    );
    process.exit(1);
  }
  const child = spawn(pinnedNode, [fileURLToPath(mainUrl), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  // Ctrl-C already reaches the child through the terminal's process group: forwarding SIGINT
  // would deliver it twice and cut the server's clean close short. Other signals are forwarded.
  process.on('SIGINT', () => {});
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (error) => {
    process.stderr.write(`lockgate: cannot start ${pinnedNode}: ${error.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    process.exit(code ?? (signal === null ? 1 : 128 + (constants.signals[signal] ?? 0)));
  });
}
