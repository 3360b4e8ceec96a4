#!/usr/bin/env node
// The `recur` command: runs the compiled CLI (npm start / npm run build produce dist/).
import { existsSync } from 'node:fs';
const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('recur: not built yet — run `npm run build` first');
  process.exit(1);
}
await import(entry.href);
