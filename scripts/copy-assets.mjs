// Copies the plain-SQL migrations next to the compiled code so dist/ runs on its own.
import { cpSync } from 'node:fs';
cpSync(new URL('../src/db/migrations', import.meta.url), new URL('../dist/db/migrations', import.meta.url), { recursive: true });
