#!/usr/bin/env node
// node scripts/cpuprofile-top.mjs FILE.cpuprofile [--top 40] [--callers NAME]
// Reads a V8 CPU profile (node --cpu-prof, or `bench:billing --processes --cpu-prof DIR`) and prints where
// the time went: busy and idle milliseconds, the functions with the most self time, and the most
// inclusive time by function name (each counted once per stack, so recursion does not inflate it).
// With --callers NAME: who calls NAME, by inclusive time, four frames up. A development tool: nothing
// in Recur runs it.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' }, callers: { type: 'string' } } });
if (positionals.length !== 1) {
  process.stderr.write('usage: node scripts/cpuprofile-top.mjs FILE.cpuprofile [--top 40] [--callers NAME]\n');
  process.exit(2);
}
const top = Number(values.top);
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const ms = (us) => (us / 1000).toFixed(0).padStart(7);
const short = (url) => url.split('/').slice(-2).join('/');
const label = (cf) => `${cf.functionName || '(anonymous)'} ${short(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;

// Sampled microseconds per leaf node.
const spent = new Map();
profile.samples.forEach((id, i) => spent.set(id, (spent.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

let total = 0;
let idle = 0;
const self = new Map();
const inclusive = new Map();
for (const [id, us] of spent) {
  const cf = nodes.get(id).callFrame;
  total += us;
  if (cf.functionName === '(idle)') idle += us;
  self.set(label(cf), (self.get(label(cf)) ?? 0) + us);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const key = label(nodes.get(cur).callFrame);
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + us);
  }
}

const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
if (values.callers) {
  const byCaller = new Map();
  const under = new Map(); // inclusive time per node
  for (const [id, us] of spent) for (let cur = id; cur !== undefined; cur = parent.get(cur)) under.set(cur, (under.get(cur) ?? 0) + us);
  for (const n of profile.nodes) {
    if (n.callFrame.functionName !== values.callers) continue;
    let nested = false;
    for (let a = parent.get(n.id); a !== undefined && !nested; a = parent.get(a)) nested = nodes.get(a).callFrame.functionName === values.callers;
    if (nested) continue;
    const chain = [];
    for (let cur = parent.get(n.id), i = 0; cur !== undefined && i < 4; cur = parent.get(cur), i++) chain.push(label(nodes.get(cur).callFrame));
    const key = chain.join(' < ');
    byCaller.set(key, (byCaller.get(key) ?? 0) + (under.get(n.id) ?? 0));
  }
  for (const [k, us] of sorted(byCaller)) process.stdout.write(`${ms(us)}  ${k}\n`);
} else {
  process.stdout.write(`total ${ms(total).trim()} ms, idle ${ms(idle).trim()} ms, busy ${ms(total - idle).trim()} ms\n\n-- self time (ms)\n`);
  for (const [k, us] of sorted(self)) process.stdout.write(`${ms(us)}  ${k}\n`);
  process.stdout.write('\n-- inclusive time by function (ms)\n');
  for (const [k, us] of sorted(inclusive)) process.stdout.write(`${ms(us)}  ${k}\n`);
}
