// Prints the console's JavaScript size gzipped and fails above the budget (300 kB).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET = 300 * 1024;
const dir = new URL('../dist/assets/', import.meta.url);
let raw = 0;
let gzipped = 0;
for (const name of readdirSync(dir)) {
  if (!name.endsWith('.js')) continue;
  const bytes = readFileSync(join(dir.pathname, name));
  raw += bytes.length;
  gzipped += gzipSync(bytes, { level: 9 }).length;
}
const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
console.log(
  `console JavaScript: ${kb(raw)}, ${kb(gzipped)} gzipped (budget ${kb(BUDGET)} gzipped)`,
);
if (gzipped > BUDGET) {
  console.error('console JavaScript is over its gzipped budget');
  process.exit(1);
}
