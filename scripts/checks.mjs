// `npm test`'s static checks — the type check and the linter — run side by side (they are independent,
// and each leaves a core idle for part of its run); fails if either fails, after both have finished.
import { spawn } from 'node:child_process';

const run = (script) =>
  new Promise((resolve) => {
    const child = spawn(`npm run --silent ${script}`, { stdio: 'inherit', shell: true });
    child.on('exit', (code, signal) => resolve({ script, ok: code === 0, code: code ?? signal }));
  });

const results = await Promise.all([run('typecheck'), run('lint')]);
for (const r of results) if (!r.ok) console.error(`npm run ${r.script} failed (${r.code})`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
