// npm run bench:machine — how fast this machine is right now, in the operations a renewal's Node work is made of
// (hashing, JSON.stringify of many small objects, deflate at level 1). The billing benches' absolute figures
// move with the machine from one day to the next (docs/BENCHMARKS.md); running this beside them says whether
// a change of figures is the code or the machine. Three runs, each line one run.
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';

const buf = Buffer.alloc(1 << 20, 7);
const rows = Array.from({ length: 20_000 }, (_, i) => ({ id: `in_${i}`, amount: i * 3, status: `status_${i % 7}`, nested: { a: [i, i + 1], b: null } }));
const perSecond = (mb: number, t0: number) => Math.round(mb / ((performance.now() - t0) / 1000));

for (let run = 1; run <= 3; run++) {
  let t0 = performance.now();
  for (let i = 0; i < 300; i++) createHash('sha256').update(buf).digest();
  const sha = perSecond(300, t0);
  t0 = performance.now();
  let json = '';
  for (let i = 0; i < 30; i++) json = JSON.stringify(rows);
  const stringify = perSecond((30 * json.length) / 1e6, t0);
  const bytes = Buffer.from(json);
  t0 = performance.now();
  for (let i = 0; i < 30; i++) deflateSync(bytes, { level: 1 });
  const deflate = perSecond((30 * bytes.length) / 1e6, t0);
  process.stdout.write(`run ${run}: sha256 ${sha} MB/s, JSON.stringify ${stringify} MB/s, deflate level 1 ${deflate} MB/s\n`);
}
