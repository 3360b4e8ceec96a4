// `npm run bench:api` — HTTP API throughput and latency against a running server, on PostgreSQL and
// on PGlite:
//   (a) floor — a bare Fastify route doing one primary-key SELECT (bench/floor-server.ts)
//   (b) authenticated GET /v1/customers/:id
//   (c) POST /v1/customers with a unique Idempotency-Key per request
// then fixed-rate (open-loop) runs of (b) — and of (a) for reference — at 2,000 req/s.
// Prints the table and writes the "## API (bench:api)" section of docs/BENCHMARKS.md.
//
// Flags: --runs N (3)  --duration S (10)  --db postgres|pglite|both (both)  --quick (1 run × 3 s,
// a smoke test; does not touch the doc unless --write)  --write  --connections N (50)  --rate R (2000)
// --quiet-wait S (20; wait up to S s for an idle machine before each timed run)  --retries N (6; repeat
// runs disturbed by other processes, at most N times in all)  --profile DIR (servers run with
// --cpu-prof into DIR; their output is saved there too)  --node-args "FLAGS" (extra Node flags for both
// servers, e.g. --trace-gc)  --skip-build (use dist/ as it is)
// Env: DATABASE_URL — the admin connection used to create/drop the bench database
//      (default postgres://postgres@127.0.0.1:5432/postgres).
//
// Everything listens on and connects to loopback only; every child process and the bench database
// are removed at the end, on errors and on Ctrl-C.

import autocannon from 'autocannon';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOC = join(ROOT, 'docs', 'BENCHMARKS.md');
const SECTION = '## API (bench:api)';
const TARGET_RATIO = 0.4;
const TARGET_P99_MS = 10;

// ---------------------------------------------------------------------------------------------
// Options

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string' },
    duration: { type: 'string' },
    db: { type: 'string' },
    quick: { type: 'boolean' },
    write: { type: 'boolean' },
    connections: { type: 'string' },
    rate: { type: 'string' },
    profile: { type: 'string' },
    'node-args': { type: 'string' },
    'skip-build': { type: 'boolean' },
    'quiet-wait': { type: 'string' },
    retries: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (flags.help) {
  process.stdout.write(
    'Usage: npm run bench:api -- [--runs N] [--duration S] [--db postgres|pglite|both] [--quick] [--write] [--connections N] [--rate R]\n' +
      '       [--quiet-wait S] [--retries N] [--profile DIR] [--node-args "FLAGS"] [--skip-build]\n',
  );
  process.exit(0);
}

function intFlag(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be an integer from ${min} to ${max}, got '${raw}'`);
  return n;
}

const quick = Boolean(flags.quick);
const opts = {
  runs: intFlag('runs', flags.runs, quick ? 1 : 3, 1, 20),
  duration: intFlag('duration', flags.duration, quick ? 3 : 10, 1, 120),
  warmup: quick ? 1 : 3,
  connections: intFlag('connections', flags.connections, 50, 1, 1000),
  rate: intFlag('rate', flags.rate, 2000, 1, 100_000),
  dbs: ((): DbKind[] => {
    const v = flags.db ?? 'both';
    if (v === 'both') return ['postgres', 'pglite'];
    if (v === 'postgres' || v === 'pglite') return [v];
    return fail(`--db must be postgres, pglite or both, got '${v}'`);
  })(),
  write: Boolean(flags.write) || !quick,
  /** --profile DIR: run both servers with --cpu-prof into DIR (profiles are written when they stop). */
  profile: flags.profile ? resolve(flags.profile) : null,
  /** --node-args "…": extra Node flags for both servers, e.g. --trace-gc (output kept under --profile). */
  nodeArgs: (flags['node-args'] ?? '').split(/\s+/).filter(Boolean),
  /** Before a timed run, wait up to this long for the machine to be idle. */
  quietWait: intFlag('quiet-wait', flags['quiet-wait'], quick ? 5 : 20, 0, 600),
  /** Timed runs disturbed by other processes are repeated, at most this many times in all. */
  retries: intFlag('retries', flags.retries, quick ? 0 : 6, 0, 100),
};

type DbKind = 'postgres' | 'pglite';
const DB_LABEL: Record<DbKind, string> = { postgres: 'PostgreSQL', pglite: 'PGlite' };

function fail(msg: string): never {
  process.stderr.write(`bench:api: ${msg}\n`);
  process.exit(2);
}

function log(msg: string): void {
  process.stderr.write(`[bench:api ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------
// Cleanup: every resource registers its undo; run LIFO on success, error, SIGINT/SIGTERM.

const cleanups: { name: string; fn: () => Promise<void> }[] = [];
const children = new Set<ChildProcess>();

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const c = cleanups.pop()!;
      await withTimeout(c.fn(), 15_000, c.name).catch((err: unknown) => log(`cleanup ${c.name}: ${(err as Error).message}`));
    }
  })();
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    log(`${sig}: stopping servers and cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

// ---------------------------------------------------------------------------------------------
// Child processes

interface Child {
  name: string;
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  waitFor: (re: RegExp, ms: number) => Promise<RegExpMatchArray>;
  stop: () => Promise<void>;
}

function startChild(name: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  let err = '';
  const cap = (s: string) => (s.length > 200_000 ? s.slice(-100_000) : s);
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out = cap(out + d)));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err = cap(err + d)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  void exited.then(() => children.delete(proc));
  const alive = () => proc.exitCode === null && proc.signalCode === null;

  const child: Child = {
    name,
    proc,
    stdout: () => out,
    stderr: () => err,
    waitFor: (re, ms) =>
      new Promise((resolve, reject) => {
        const deadline = setTimeout(() => done(new Error(`${name}: no ${re} on stdout within ${ms} ms\n${err.slice(-2000)}`)), ms);
        const check = () => {
          const m = out.match(re);
          if (m) done(null, m);
        };
        const onExit = () => done(new Error(`${name} exited (code ${proc.exitCode}, signal ${proc.signalCode}) before it was ready:\n${err.slice(-4000)}${out.slice(-1000)}`));
        function done(e: Error | null, m?: RegExpMatchArray) {
          clearTimeout(deadline);
          proc.stdout!.off('data', check);
          proc.off('exit', onExit);
          if (e) reject(e);
          else resolve(m!);
        }
        proc.stdout!.on('data', check);
        proc.once('exit', onExit);
        check();
        if (!alive()) onExit();
      }),
    stop: async () => {
      if (!alive()) return;
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
      // Under --profile, keep what the server printed (e.g. --node-args=--trace-gc) next to its profile.
      if (opts.profile) writeFileSync(join(opts.profile, `${name.replace(/\W+/g, '-')}-${proc.pid}.log`), `${out}\n--- stderr ---\n${err}`);
    },
  };
  cleanups.push({ name: `stop ${name}`, fn: child.stop });
  return child;
}

/** Extra Node flags for both servers: --node-args, and --cpu-prof under --profile. */
function serverNodeArgs(): string[] {
  const extra = opts.nodeArgs;
  if (!opts.profile) return extra;
  mkdirSync(opts.profile, { recursive: true });
  return [...extra, '--cpu-prof', `--cpu-prof-dir=${opts.profile}`];
}

/** A copy of our environment without anything that would change how the servers run. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k.startsWith('RECUR_') || k.startsWith('FLOOR_') || k === 'DATABASE_URL' || k === 'PORT' || k === 'HOST') delete env[k];
  }
  return { ...env, HOST: '127.0.0.1', ...extra };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function waitHealthy(base: string, child: Child, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (child.proc.exitCode !== null) throw new Error(`${child.name} exited:\n${child.stderr().slice(-4000)}`);
    try {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${child.name}: /health not OK within ${ms} ms\n${child.stderr().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc): which processes used the cores during a timed run. Everything runs
// on one small machine, so a run is only meaningful if nothing else was busy; "other" shows that.

interface CpuSnap {
  busy: number;
  total: number;
  ticks: Map<number, { comm: string; ticks: number }>;
}

/** Cores used over a run, by role. */
interface CpuUse {
  bench: number;
  server: number;
  postgres: number;
  other: number;
}

const NCPU = os.cpus().length;
/** Below this many busy cores the idle machine counts as quiet. */
const QUIET_CORES = 0.2;
/** A timed run during which other processes used more than this many cores is "disturbed". */
const DISTURBED_CORES = 0.25;
let retriesLeft = opts.retries;

function disturbed(c: CpuUse | null | undefined): boolean {
  return (c?.other ?? 0) > DISTURBED_CORES;
}

/**
 * A timed run on a shared machine: wait for quiet, run, and if other processes took more than
 * DISTURBED_CORES meanwhile, run it again (within the global budget); keep the least disturbed.
 */
async function guarded<T extends { cpu: CpuUse | null }>(what: string, fn: () => Promise<T>, opt: { ownBudget?: boolean } = {}): Promise<T> {
  let best: T | null = null;
  for (let attempt = 1; ; attempt++) {
    await awaitQuiet(opts.quietWait * 1000);
    const r = await fn();
    if (!best || (r.cpu?.other ?? 0) < (best.cpu?.other ?? 0)) best = r;
    const budget = opt.ownBudget ? (opts.retries > 0 ? 2 : 0) - (attempt - 1) : retriesLeft;
    if (!disturbed(r.cpu) || budget <= 0 || attempt >= 3) break;
    if (!opt.ownBudget) retriesLeft--;
    log(`${what}: other processes used ${r.cpu!.other.toFixed(2)} cores during the run; repeating it`);
  }
  return best;
}

function cpuSnap(): CpuSnap | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    const busy = user + nice + system + irq + softirq + steal;
    const ticks = new Map<number, { comm: string; ticks: number }>();
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const st = readFileSync(`/proc/${d}/stat`, 'utf8');
        const close = st.lastIndexOf(')');
        const rest = st.slice(close + 2).split(' '); // rest[0] is field 3 (state); utime is field 14, stime 15
        ticks.set(Number(d), { comm: st.slice(st.indexOf('(') + 1, close), ticks: Number(rest[11]) + Number(rest[12]) });
      } catch {
        // the process ended meanwhile
      }
    }
    return { busy, total: busy + idle + iowait, ticks };
  } catch {
    return null; // not Linux
  }
}

/**
 * The database a PostgreSQL backend serves, from its process title ("postgres: 15/main: user db
 * host(port) state"); null for the postmaster and background processes (checkpointer, walwriter…).
 */
function backendDb(pid: number): string | null {
  try {
    const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+/g, ' ').trim();
    const m = /^postgres: [^:]+: \S+ (\S+) (\S+)/.exec(title);
    return m && /\(\d+\)$|^\[local\]$/.test(m[2]!) ? m[1]! : null;
  } catch {
    return null;
  }
}

/**
 * Cores used between two snapshots: the bench process, the server under test, PostgreSQL working
 * for us (backends of `pgDb` and the shared background processes), and everything else — including
 * backends of other databases, e.g. someone's test suite on the same PostgreSQL.
 */
function cpuUse(a: CpuSnap | null, b: CpuSnap | null, serverPid: number | undefined, pgDb: string | undefined): CpuUse | null {
  if (!a || !b || b.total <= a.total) return null;
  const cores = (t: number) => (t / (b.total - a.total)) * NCPU;
  const delta = (pid: number) => {
    const x = a.ticks.get(pid);
    const y = b.ticks.get(pid);
    return x && y && x.comm === y.comm ? Math.max(0, y.ticks - x.ticks) : 0;
  };
  const bench = delta(process.pid);
  const server = serverPid ? delta(serverPid) : 0;
  let postgres = 0;
  for (const [pid, y] of b.ticks) {
    if (y.comm !== 'postgres' || pid === serverPid) continue;
    const db = backendDb(pid);
    if (db !== null && db !== pgDb) continue; // someone else's: stays in "other"

    // A backend started during the run (the pool reconnects after idling) counts from zero.
    postgres += a.ticks.get(pid)?.comm === 'postgres' ? delta(pid) : y.ticks;
  }
  const other = Math.max(0, b.busy - a.busy - bench - server - postgres);
  return { bench: cores(bench), server: cores(server), postgres: cores(postgres), other: cores(other) };
}

/**
 * Before a timed run: wait (up to maxMs) until the machine has been nearly idle for a second — the
 * servers are idle between runs, so anything busy now belongs to someone else. Returns the busy
 * cores seen last.
 */
async function awaitQuiet(maxMs: number, threshold = QUIET_CORES): Promise<number> {
  if (maxMs <= 0) return 0;
  const until = Date.now() + maxMs;
  let waited = false;
  for (;;) {
    const a = cpuSnap();
    await new Promise((r) => setTimeout(r, 1_000));
    const b = cpuSnap();
    if (!a || !b || b.total <= a.total) return 0;
    const busy = ((b.busy - a.busy) / (b.total - a.total)) * NCPU;
    if (busy < threshold || Date.now() > until) {
      if (waited) log(busy < threshold ? 'machine quiet again' : `machine still busy (${busy.toFixed(2)} cores); measuring anyway`);
      return busy;
    }
    if (!waited) log(`machine busy (${busy.toFixed(2)} cores used by other processes); waiting up to ${maxMs / 1000} s for quiet`);
    waited = true;
  }
}

function fmtCpu(c: CpuUse | null | undefined): string {
  return c ? `${c.bench.toFixed(2)} / ${c.server.toFixed(2)} / ${c.postgres.toFixed(2)} / ${c.other.toFixed(2)}` : '–';
}

// ---------------------------------------------------------------------------------------------
// Load generation

interface Target {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  /** For (c): a fresh Idempotency-Key and body per request. */
  fresh?: boolean;
  /** The server process, for CPU accounting. */
  pid?: number;
  /** The bench database on PostgreSQL, for CPU accounting. */
  pgDb?: string;
}

interface RunStats {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  bad: number;
  errors: number;
  cpu: CpuUse | null;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

class Samples {
  private buf = new Float64Array(1 << 16);
  n = 0;
  push(v: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = v;
  }
  sorted(): Float64Array {
    return this.buf.slice(0, this.n).sort();
  }
}

let seq = 0;
const RUN_TAG = `${process.pid.toString(36)}${Date.now().toString(36)}`;

/**
 * Closed loop: `connections` keep-alive connections, one request in flight on each (pipelining 1).
 * Latencies are taken per response in full precision (autocannon's own histogram keeps whole
 * milliseconds, too coarse for p50 here); req/s counts 2xx responses over the elapsed time.
 */
async function closedLoop(t: Target, seconds: number): Promise<RunStats> {
  const lat = new Samples();
  let ok = 0;
  let bad = 0;
  const u = new URL(t.url);
  const request: autocannon.Request = { method: t.method, path: u.pathname + u.search, headers: t.headers };
  if (t.fresh) {
    request.setupRequest = (req) => {
      const n = ++seq;
      return {
        ...req,
        headers: { ...t.headers, 'content-type': 'application/json', 'idempotency-key': `bench-${RUN_TAG}-${n}` },
        body: JSON.stringify({ email: `bench-${RUN_TAG}-${n}@example.com`, name: `Bench ${n}`, metadata: { run: RUN_TAG } }),
      };
    };
  }
  const cpu0 = cpuSnap();
  const started = performance.now();
  const result = await withTimeout(
    new Promise<autocannon.Result>((resolve, reject) => {
      const inst = autocannon(
        { url: `${u.protocol}//${u.host}`, connections: opts.connections, pipelining: 1, duration: seconds, timeout: 10, requests: [request] },
        (err: unknown, res: autocannon.Result) => (err ? reject(err as Error) : resolve(res)),
      );
      inst.on('response', (_client, status, _bytes, ms) => {
        if (status >= 200 && status < 300) {
          ok++;
          lat.push(ms);
        } else bad++;
      });
    }),
    (seconds + 30) * 1000,
    `autocannon ${t.url}`,
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuUse(cpu0, cpuSnap(), t.pid, t.pgDb);
  const sorted = lat.sorted();
  return { rps: ok / elapsed, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), ok, bad, errors: result.errors, cpu };
}

interface RateStats {
  rate: number;
  achieved: number;
  p50: number;
  p99: number;
  max: number;
  ok: number;
  bad: number;
  errors: number;
  lateP99: number;
  cpu: CpuUse | null;
}

/**
 * Open loop at a fixed rate: requests are sent on a schedule (every 1/rate s, evenly spaced) whether
 * or not earlier ones have answered, over a keep-alive pool of `connections` sockets; a request that
 * finds every socket busy waits for one, and that wait counts in its latency. The first second warms
 * the connections and is not recorded.
 *
 * Why not autocannon's `overallRate`: it lets each connection send its share of the rate as fast as
 * it can at the start of every second, then idle — bursts at full concurrency, not 2,000 req/s.
 */
async function openLoop(t: Target, rate: number, seconds: number): Promise<RateStats> {
  const u = new URL(t.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const warm = rate; // one second
  const total = warm + Math.round(rate * seconds);
  const every = 1000 / rate;
  const lat = new Samples();
  const late = new Samples();
  let sent = 0;
  let settled = 0;
  let ok = 0;
  let bad = 0;
  let errors = 0;
  let firstMeasured = 0;
  let lastDone = 0;
  let cpu0: CpuSnap | null = null;
  let cpu1: CpuSnap | null = null;

  const result = await withTimeout(
    new Promise<void>((resolve) => {
      const settle = () => {
        if (++settled === total) {
          cpu1 = cpuSnap();
          resolve();
        }
      };
      const fire = (i: number, scheduled: number) => {
        const t0 = performance.now();
        const measured = i >= warm;
        if (measured) {
          if (i === warm) {
            firstMeasured = t0;
            cpu0 = cpuSnap();
          }
          late.push(t0 - scheduled);
        }
        const req = http.request({ agent, host: u.hostname, port: u.port, path: u.pathname + u.search, method: t.method, headers: t.headers }, (res) => {
          res.resume();
          res.once('end', () => {
            const t1 = performance.now();
            if (measured) {
              lastDone = t1;
              if (res.statusCode! >= 200 && res.statusCode! < 300) {
                ok++;
                lat.push(t1 - t0);
              } else bad++;
            }
            settle();
          });
        });
        req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
        req.once('error', () => {
          if (measured) errors++;
          settle();
        });
        req.end();
      };
      const start = performance.now();
      // setTimeout(1) ticks: ~1 ms apart, each sends the requests whose time has come (no busy loop,
      // which would steal a core from the server on a 2-core machine).
      const tick = () => {
        const due = Math.min(total, Math.floor((performance.now() - start) / every) + 1);
        while (sent < due) {
          fire(sent, start + sent * every);
          sent++;
        }
        if (sent < total) setTimeout(tick, 1);
      };
      tick();
    }),
    (seconds + 40) * 1000,
    `open loop ${t.url}`,
  ).then(
    () => null,
    (err: Error) => err,
  );
  agent.destroy();
  if (result) log(`warning: ${result.message}; unanswered requests count as errors`);
  const measuredTotal = total - warm;
  const sorted = lat.sorted();
  const lateSorted = late.sorted();
  return {
    rate,
    achieved: ok / Math.max(1e-9, (lastDone - firstMeasured) / 1000),
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    ok,
    bad,
    errors: errors + Math.max(0, measuredTotal - ok - bad - errors),
    lateP99: percentile(lateSorted, 0.99),
    cpu: cpuUse(cpu0, cpu1, t.pid, t.pgDb),
  };
}

// ---------------------------------------------------------------------------------------------
// One database: start the servers, measure (a) (b) (c) and the fixed-rate runs.

type Scenario = 'a' | 'b' | 'c';
const SCENARIO_LABEL: Record<Scenario, string> = {
  a: '(a) floor: bare Fastify + PK SELECT',
  b: '(b) GET /v1/customers/:id (auth)',
  c: '(c) POST /v1/customers (Idempotency-Key)',
};

interface Measured {
  median: { rps: number; p50: number; p99: number };
  runs: RunStats[];
}

interface DbMeta {
  date: string;
  seconds: number;
  machine: string;
  loadBefore: string;
  runs: number;
  duration: number;
  warmup: number;
  connections: number;
  rate: number;
}

interface DbResult {
  db: DbKind;
  detail: string;
  meta: DbMeta;
  scenarios: Record<Scenario, Measured>;
  fixed: { a: RateSummary; b: RateSummary };
}

interface RateSummary {
  rate: number;
  median: { achieved: number; p50: number; p99: number };
  /** The worst single response over all runs. */
  max: number;
  runs: RateStats[];
}

function summarizeRate(runs: RateStats[]): RateSummary {
  return {
    rate: runs[0]!.rate,
    median: { achieved: median(runs.map((r) => r.achieved)), p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)) },
    max: Math.max(...runs.map((r) => r.max)),
    runs,
  };
}

function machine(): string {
  return (
    `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ` +
    `Node ${process.version}, ${os.platform()} ${os.release()}`
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function summarize(runs: RunStats[]): Measured {
  return { runs, median: { rps: median(runs.map((r) => r.rps)), p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)) } };
}

function describeRun(r: RunStats): string {
  const warn = r.bad || r.errors ? `  (!) ${r.bad} non-2xx, ${r.errors} errors` : '';
  return `${fmtInt(r.rps)} req/s  p50 ${fmtMs(r.p50)} ms  p99 ${fmtMs(r.p99)} ms  cores bench/server/postgres/other ${fmtCpu(r.cpu)}${warn}`;
}

async function adminUrl(): Promise<URL> {
  const raw = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const u = new URL(raw);
  const host = decodeURIComponent(u.hostname).replace(/^\[|\]$/g, '');
  const loopback = host === '' || host === 'localhost' || host === '::1' || host.startsWith('127.') || host.startsWith('/');
  if (!loopback) fail(`DATABASE_URL must point at a loopback PostgreSQL (got host '${host}')`);
  return u;
}

async function pgAdmin<T>(url: URL, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000, query_timeout: 60_000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function prepare(db: DbKind): Promise<{ recurEnv: Record<string, string>; floorEnv: Record<string, string>; detail: string; pgDb?: string }> {
  if (db === 'postgres') {
    const admin = await adminUrl();
    const name = `recur_bench_${process.pid}`;
    const version = await pgAdmin(admin, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${name}`);
      return (await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
    });
    cleanups.push({ name: `drop database ${name}`, fn: () => pgAdmin(admin, async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))) });
    const url = new URL(admin.toString());
    url.pathname = `/${name}`;
    log(`created database ${name}`);
    return {
      recurEnv: { DATABASE_URL: url.toString() },
      floorEnv: { FLOOR_DB: 'postgres', DATABASE_URL: url.toString() },
      detail: `PostgreSQL ${version} on ${admin.host}`,
      pgDb: name,
    };
  }
  const dir = mkdtempSync(join(os.tmpdir(), 'recur-bench-'));
  cleanups.push({ name: `remove ${dir}`, fn: async () => rmSync(dir, { recursive: true, force: true }) });
  const pgliteVersion = (JSON.parse(readFileSync(join(ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string }).version;
  return {
    recurEnv: { RECUR_DATA_DIR: join(dir, 'recur') },
    floorEnv: { FLOOR_DB: 'pglite', FLOOR_DATA_DIR: join(dir, 'floor') },
    detail: `PGlite ${pgliteVersion}, data folders in ${os.tmpdir()}`,
  };
}

async function benchDb(db: DbKind): Promise<DbResult> {
  const label = DB_LABEL[db];
  const cleanupMark = cleanups.length;
  const began = performance.now();
  const loadBefore = os.loadavg().map((l) => l.toFixed(2)).join(', ');
  try {
    const { recurEnv, floorEnv, detail, pgDb } = await prepare(db);

    const port = await freePort();
    const recur = startChild(`recur server (${label})`, [...serverNodeArgs(), 'dist/cli/main.js', 'serve'], childEnv({
      ...recurEnv,
      PORT: String(port),
      RECUR_RATE_LIMIT: '0',
      RECUR_LOG_LEVEL: 'warn',
      RECUR_WORKER: 'false',
      RECUR_SEED: 'false',
    }));
    const key = (await recur.waitFor(/\b(sk_[A-Za-z0-9_-]{16,})/, 60_000))[1]!;
    const base = `http://127.0.0.1:${port}`;
    await waitHealthy(base, recur, 30_000);
    const auth = { authorization: `Bearer ${key}` };

    const created = await fetch(`${base}/v1/customers`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'floor@example.com', name: 'Bench Customer', metadata: { bench: 'api' } }),
      signal: AbortSignal.timeout(10_000),
    });
    if (created.status !== 200) throw new Error(`creating the customer: HTTP ${created.status} ${await created.text()}`);
    const customer = (await created.json()) as { id: string; email: string | null; name: string | null };
    log(`${label}: Recur on ${base}, customer ${customer.id}`);

    const floor = startChild(`floor server (${label})`, [...serverNodeArgs(), '--import', 'tsx', 'bench/floor-server.ts'], childEnv({
      ...floorEnv,
      PORT: '0',
      FLOOR_CUSTOMER: JSON.stringify({ id: customer.id, email: customer.email, name: customer.name }),
    }));
    const floorPort = (await floor.waitFor(/floor listening on (\d+)/, 60_000))[1]!;
    const floorBase = `http://127.0.0.1:${floorPort}`;

    const targets: Record<Scenario, Target> = {
      a: { url: `${floorBase}/customers/${customer.id}`, method: 'GET', headers: {}, pid: floor.proc.pid, pgDb },
      b: { url: `${base}/v1/customers/${customer.id}`, method: 'GET', headers: auth, pid: recur.proc.pid, pgDb },
      c: { url: `${base}/v1/customers`, method: 'POST', headers: auth, fresh: true, pid: recur.proc.pid, pgDb },
    };
    // Sanity: both servers answer 200 with the same customer before anything is timed.
    for (const s of ['a', 'b'] as const) {
      const res = await fetch(targets[s].url, { headers: targets[s].headers, signal: AbortSignal.timeout(10_000) });
      const body = (await res.json()) as { id?: string };
      if (res.status !== 200 || body.id !== customer.id) throw new Error(`${SCENARIO_LABEL[s]}: HTTP ${res.status} ${JSON.stringify(body)}`);
    }

    const runs: Record<Scenario, RunStats[]> = { a: [], b: [], c: [] };
    const measure = async (s: Scenario, i: number) => {
      const r = await guarded(`${label} ${s} run ${i}`, () => closedLoop(targets[s], opts.duration));
      runs[s].push(r);
      log(`${label} ${s} run ${i}/${opts.runs}: ${describeRun(r)}`);
    };
    const warm = async (s: Scenario) => {
      const r = await closedLoop(targets[s], opts.warmup);
      log(`${label} ${s} warm-up ${opts.warmup} s: ${describeRun(r)}`);
    };

    // Reads first, (a) and (b) interleaved so drift (CPU heat, other load) hits both alike; the
    // fixed-rate runs next; writes last, so the rows (c) inserts and the autovacuum they trigger
    // cannot disturb the read measurements.
    await warm('a');
    await warm('b');
    for (let i = 1; i <= opts.runs; i++) {
      await measure('a', i);
      await measure('b', i);
    }
    const fixedRuns: Record<'a' | 'b', RateStats[]> = { a: [], b: [] };
    const fixedRun = async (s: 'a' | 'b', i: number) => {
      // The latency target is read from these runs: they may repeat twice each, outside the shared budget.
      const r = await guarded(`${label} ${s} at ${opts.rate} req/s run ${i}`, () => openLoop(targets[s], opts.rate, opts.duration), { ownBudget: true });
      log(`${label} ${s} at ${opts.rate} req/s run ${i}/${opts.runs}: ${describeRate(r)}`);
      fixedRuns[s].push(r);
    };
    for (let i = 1; i <= opts.runs; i++) {
      await fixedRun('a', i);
      await fixedRun('b', i);
    }
    const fixed = { a: summarizeRate(fixedRuns.a), b: summarizeRate(fixedRuns.b) };
    await warm('c');
    for (let i = 1; i <= opts.runs; i++) await measure('c', i);

    const meta: DbMeta = {
      date: new Date().toISOString(),
      seconds: Math.round((performance.now() - began) / 1000),
      machine: machine(),
      loadBefore,
      runs: opts.runs,
      duration: opts.duration,
      warmup: opts.warmup,
      connections: opts.connections,
      rate: opts.rate,
    };
    return { db, detail, meta, scenarios: { a: summarize(runs.a), b: summarize(runs.b), c: summarize(runs.c) }, fixed };
  } finally {
    // Stop this database's servers (and drop its database) before the next one starts.
    while (cleanups.length > cleanupMark) {
      const c = cleanups.pop()!;
      await withTimeout(c.fn(), 15_000, c.name).catch((err: unknown) => log(`cleanup ${c.name}: ${(err as Error).message}`));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–';
}
function fmtMs(n: number): string {
  return Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : '–';
}
function rateWarning(r: RateStats): string {
  if (r.bad || r.errors) return ` (!) ${r.bad} non-2xx, ${r.errors} errors`;
  return r.achieved < r.rate * 0.97 ? ' (!) below the rate' : '';
}
function medianCpu(xs: (CpuUse | null)[]): CpuUse | null {
  const c = xs.filter((x): x is CpuUse => x !== null);
  if (!c.length) return null;
  return { bench: median(c.map((x) => x.bench)), server: median(c.map((x) => x.server)), postgres: median(c.map((x) => x.postgres)), other: median(c.map((x) => x.other)) };
}
function describeRate(r: RateStats): string {
  const warn = rateWarning(r);
  return `achieved ${fmtInt(r.achieved)} req/s  p50 ${fmtMs(r.p50)} ms  p99 ${fmtMs(r.p99)} ms  max ${fmtMs(r.max)} ms  (send lag p99 ${fmtMs(r.lateP99)} ms)  cores ${fmtCpu(r.cpu)}${warn}`;
}
function summaryWarning(f: RateSummary): string {
  if (f.runs.some((r) => r.bad || r.errors)) return ' (!) errors';
  return f.median.achieved < f.rate * 0.97 ? ' (!) below the rate' : '';
}

function timedCpus(r: DbResult): (CpuUse | null)[] {
  return [...Object.values(r.scenarios), ...Object.values(r.fixed)].flatMap((m: { runs: { cpu: CpuUse | null }[] }) => m.runs.map((x) => x.cpu));
}

function render(results: DbResult[], totalSeconds: number | null): string {
  const lines: string[] = [];
  lines.push(SECTION, '');
  for (const r of results) {
    const m = r.meta;
    const cpus = timedCpus(r);
    const maxOther = Math.max(0, ...cpus.map((c) => c?.other ?? 0));
    const nDisturbed = cpus.filter(disturbed).length;
    lines.push(
      `- **${DB_LABEL[r.db]}** — measured ${m.date} in ${m.seconds} s on ${m.machine}; ${r.detail}. ` +
        `${m.runs} run(s) of ${m.duration} s per scenario after a ${m.warmup} s warm-up, ${m.connections} connections; ` +
        `load average before: ${m.loadBefore}; other processes took at most ${maxOther.toFixed(2)} cores during a timed run` +
        (nDisturbed ? ` and more than ${DISTURBED_CORES} in ${nDisturbed} of ${cpus.length} timed runs (marked \\*): **the machine was busy, read those numbers with care**.` : '.'),
    );
  }
  if (totalSeconds !== null) lines.push('', `The last \`npm run bench:api\` took ${Math.round(totalSeconds)} s in all.`);
  lines.push('', 'Closed loop (autocannon, pipelining 1); each column is the median of the runs:', '');
  lines.push('| database | scenario | req/s (median) | p50 ms | p99 ms | ratio to floor | req/s of each run | cores: bench / server / postgres / other |');
  lines.push('|---|---|---:|---:|---:|---:|---|---|');
  for (const r of results) {
    const floor = r.scenarios.a.median.rps;
    for (const s of ['a', 'b', 'c'] as const) {
      const m = r.scenarios[s];
      const ratio = s === 'a' ? '1.00' : (m.median.rps / floor).toFixed(2);
      const bad = m.runs.some((x) => x.bad || x.errors) ? ' (!) errors' : '';
      lines.push(
        `| ${DB_LABEL[r.db]} | ${SCENARIO_LABEL[s]} | ${fmtInt(m.median.rps)}${bad} | ${fmtMs(m.median.p50)} | ${fmtMs(m.median.p99)} | ${ratio} | ${m.runs.map((x) => fmtInt(x.rps) + (disturbed(x.cpu) ? '\\*' : '')).join(' / ')} | ${fmtCpu(medianCpu(m.runs.map((x) => x.cpu)))} |`,
      );
    }
  }
  lines.push('', 'Fixed rate (open loop, see below); each column is the median of the runs, except max (the slowest response of all runs):', '');
  lines.push('| database | scenario | target req/s | achieved req/s | p50 ms | p99 ms | p99 ms of each run | max ms | cores: bench / server / postgres / other |');
  lines.push('|---|---|---:|---:|---:|---:|---|---:|---|');
  for (const r of results) {
    for (const s of ['a', 'b'] as const) {
      const f = r.fixed[s];
      lines.push(
        `| ${DB_LABEL[r.db]} | ${SCENARIO_LABEL[s]} | ${fmtInt(f.rate)} | ${fmtInt(f.median.achieved)}${summaryWarning(f)} | ${fmtMs(f.median.p50)} | ${fmtMs(f.median.p99)} | ` +
          `${f.runs.map((x) => fmtMs(x.p99) + (disturbed(x.cpu) ? '\\*' : '')).join(' / ')} | ${fmtMs(f.max)} | ${fmtCpu(medianCpu(f.runs.map((x) => x.cpu)))} |`,
      );
    }
  }
  lines.push('', 'Targets (PostgreSQL):', '');
  const pgr = results.find((r) => r.db === 'postgres');
  if (!pgr) lines.push('- PostgreSQL has not been measured yet (`npm run bench:api -- --db postgres`).');
  else {
    const ratio = pgr.scenarios.b.median.rps / pgr.scenarios.a.median.rps;
    const f = pgr.fixed.b;
    const okRatio = ratio >= TARGET_RATIO;
    const okP99 = f.median.p99 < TARGET_P99_MS && summaryWarning(f) === '' && f.rate >= 2000;
    lines.push(`- (b)/(a) = ${ratio.toFixed(2)} (target ≥ ${TARGET_RATIO.toFixed(2)}): **${okRatio ? 'PASS' : 'FAIL'}**`);
    lines.push(`- p99 of (b) at ${fmtInt(f.rate)} req/s = ${fmtMs(f.median.p99)} ms, median of ${f.runs.length} run(s) (target < ${TARGET_P99_MS} ms at 2,000 req/s): **${okP99 ? 'PASS' : 'FAIL'}**`);
  }
  const pgl = results.find((r) => r.db === 'pglite');
  if (pgl) {
    lines.push('', `PGlite (no targets): (b)/(a) = ${(pgl.scenarios.b.median.rps / pgl.scenarios.a.median.rps).toFixed(2)}, p99 of (b) at ${fmtInt(pgl.fixed.b.rate)} req/s = ${fmtMs(pgl.fixed.b.median.p99)} ms${summaryWarning(pgl.fixed.b)}.`);
  }
  lines.push('', METHOD_NOTES, '', `<!-- bench:api data ${JSON.stringify(results)} -->`);
  return lines.join('\n') + '\n';
}

const METHOD_NOTES = `How it is measured:

- **Servers in their own processes, load from the bench process.** The Recur server is \`node dist/cli/main.js serve\` with
  \`RECUR_RATE_LIMIT=0 RECUR_LOG_LEVEL=warn RECUR_WORKER=false RECUR_SEED=false\` on a fresh database (PostgreSQL: a new
  database \`recur_bench_<pid>\`, dropped afterwards; PGlite: a new temporary data folder), using the admin key from its
  first-start banner. One customer is created through the API and read back by (a) and (b).
- **The floor (a)** is \`bench/floor-server.ts\`: a bare Fastify app (no logger, hooks, auth, validation or serializer
  schema) with one route running \`SELECT * FROM customers WHERE id = $1\` — the query Recur runs for (b). The issue asks
  for it "in the same process"; we read that as "a Fastify server in the same kind of process as Recur's": it runs as a
  separate child process like the Recur server, so both are driven over loopback HTTP by the same load generator and
  neither shares an event loop with autocannon. On PostgreSQL it uses a \`pg.Pool\` of 10 (Recur's default pool size) on
  the same database and row. PGlite is an in-process database that only one process may open, so the PGlite floor opens
  its own PGlite instance on its own temporary folder, applies Recur's migrations and inserts the same customer id.
- **(c)** sends \`{"email": "bench-…-N@example.com", "name": …, "metadata": …}\` with a unique \`Idempotency-Key\` per
  request, so every request creates a customer (and its event and idempotency row) in one transaction.
- **Latency** p50/p99 come from every 2xx response's time (request written → response complete) at full precision;
  autocannon's own histogram keeps whole milliseconds. req/s counts 2xx responses over the run's wall time.
- **Fixed rate.** autocannon's \`overallRate\` is not used for the latency target: it lets each connection send its share
  of the rate back to back at the start of every second and then idle, which measures bursts at full concurrency rather
  than a steady 2,000 req/s (and its coordinated-omission correction assumes a 1 ms interval). The bench instead sends
  requests on an even schedule (open loop, every 0.5 ms at 2,000 req/s) over at most ${opts.connections} keep-alive connections; a
  request that finds all connections busy waits, and the wait counts. The first second is a warm-up and is not recorded.
- **Quiet machine.** Before each timed run the bench waits (up to \`--quiet-wait\`, ${opts.quietWait} s) until the machine has been
  nearly idle (< ${QUIET_CORES} cores busy) for a second, since other work on the same cores distorts both throughput and tail
  latency; a run during which other processes still took more than ${DISTURBED_CORES} cores is repeated (at most twice per
  run, and \`--retries\`, ${opts.retries}, times in all for the closed-loop runs) and the least disturbed attempt is kept.
- **Order.** Warm-up (a), (b); then (a) and (b) alternate run by run; then the fixed-rate runs ((a) and (b) alternating,
  as many as \`--runs\`); then (c) last, so its
  inserts (and the autovacuum they trigger) do not disturb the reads.
- **One machine.** autocannon, the server and PostgreSQL share the same ${os.cpus().length} cores, so absolute numbers are lower
  than with a separate load-generator host; the ratio to the floor is the number to compare. The "cores" columns show
  where the CPU went during the timed runs (median of the runs, from \`/proc\`): the bench process (load generator), the
  server under test, PostgreSQL working for the bench (backends of the bench database and PostgreSQL's background
  processes), and everything else on the machine, including backends of other databases ("other": should be near 0).

Reproduce: \`npm run bench:api\` (builds \`dist/\` first; PostgreSQL from \`DATABASE_URL\`, default
\`postgres://postgres@127.0.0.1:5432/postgres\`, used only to create and drop the bench database). Flags: \`--runs N\`,
\`--duration S\`, \`--db postgres|pglite|both\`, \`--quick\` (1 run × 3 s, does not update this file unless \`--write\`),
\`--connections N\`, \`--rate R\`, \`--quiet-wait S\`, \`--retries N\`, \`--profile DIR\` (runs both servers with \`--cpu-prof\`
and keeps their output there), \`--node-args "FLAGS"\` (e.g. \`--trace-gc\`), \`--skip-build\`. Stop other work on the machine first: the bench waits for quiet, but only so long.`;

const DOC_HEADER = `# Benchmarks

Performance measurements of Recur. Each section is written by the script named in its title; rerun it to refresh
the section (other sections are left as they are). Numbers depend on the machine; each section says where and when it
was measured.

`;

/** Results of earlier runs kept in the section, for the databases this run did not measure. */
function previousResults(): DbResult[] {
  if (!existsSync(DOC)) return [];
  const m = /<!-- bench:api data (.*?) -->/.exec(readFileSync(DOC, 'utf8'));
  if (!m) return [];
  try {
    // Only results in the current shape (older runs of this script stored less).
    return (JSON.parse(m[1]!) as DbResult[]).filter((r) => r && (r.db === 'postgres' || r.db === 'pglite') && r.meta && Array.isArray(r.fixed?.b?.runs));
  } catch {
    return [];
  }
}

function merge(now: DbResult[]): DbResult[] {
  const kept = previousResults().filter((p) => !now.some((r) => r.db === p.db));
  return (['postgres', 'pglite'] as const).flatMap((db) => [...now, ...kept].filter((r) => r.db === db));
}

function writeDoc(section: string): void {
  let doc = existsSync(DOC) ? readFileSync(DOC, 'utf8') : DOC_HEADER;
  const start = doc.indexOf(`${SECTION}\n`);
  if (start === -1) doc = doc.replace(/\n*$/, '\n\n') + section;
  else {
    const next = doc.slice(start + SECTION.length).search(/\n## /);
    const end = next === -1 ? doc.length : start + SECTION.length + next + 1;
    doc = doc.slice(0, start) + section + (end < doc.length ? '\n' + doc.slice(end) : '');
  }
  writeFileSync(DOC, doc);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const began = performance.now();
  const perDb = 3 * opts.warmup + 3 * opts.runs * opts.duration + 2 * opts.runs * (opts.duration + 1) + 10;
  log(`runs ${opts.runs} × ${opts.duration} s, ${opts.connections} connections, databases: ${opts.dbs.join(', ')} — about ${Math.ceil((perDb * opts.dbs.length + 20) / 60)} min on an idle machine`);
  // The whole bench is bounded: past the worst case (every timed run waits for quiet in vain and
  // uses all its repeats) plus a margin, everything is torn down.
  const timedRuns = 5 * opts.runs;
  const slot = opts.quietWait + 1 + opts.duration + 2;
  const repeats = opts.retries + (opts.retries > 0 ? 4 * opts.runs * opts.dbs.length : 0);
  const worst = opts.dbs.length * (3 * (opts.warmup + 1) + timedRuns * slot + 30) + repeats * slot + 300;
  const watchdog = setTimeout(() => {
    log(`watchdog: the bench took longer than ${worst} s; aborting`);
    void cleanup().finally(() => process.exit(1));
  }, worst * 1000);
  watchdog.unref();

  if (flags['skip-build']) {
    if (!existsSync(join(ROOT, 'dist/cli/main.js'))) throw new Error('--skip-build: dist/cli/main.js is missing; run npm run build');
    log('--skip-build: using dist/ as it is');
  } else {
    log('building dist/ (npm run build)');
    const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 2, 2], timeout: 300_000 });
    if (build.status !== 0) throw new Error(`npm run build failed (status ${build.status ?? build.signal}); fix it, or pass --skip-build to bench the dist/ you have`);
  }

  const results: DbResult[] = [];
  for (const db of opts.dbs) results.push(await benchDb(db));

  const totalSeconds = (performance.now() - began) / 1000;
  process.stdout.write('\n' + render(results, totalSeconds).replace(/\n<!-- bench:api data .*-->\n$/, '\n'));
  if (opts.write) {
    const all = merge(results);
    if (all.length > results.length) log(`keeping the earlier ${all.filter((r) => !results.includes(r)).map((r) => DB_LABEL[r.db]).join(', ')} results in the doc`);
    writeDoc(render(all, all.length === results.length ? totalSeconds : null));
    log(`wrote ${DOC}`);
  } else log('--quick: docs/BENCHMARKS.md not updated (pass --write to update it)');
  log(`done in ${Math.round(totalSeconds)} s`);
}

main()
  .catch(async (err: unknown) => {
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanup();
    process.exit();
  });
