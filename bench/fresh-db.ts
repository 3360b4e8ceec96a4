import pg from 'pg';

// A fresh PostgreSQL database per bench run, created and dropped through the server named by
// DATABASE_URL (default: the local server's postgres database, used only for CREATE/DROP DATABASE).

export const ADMIN_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Creates database `name` (dropping a leftover of the same name) and returns its URL and how to drop it. */
export async function freshDatabase(name: string): Promise<{ url: string; drop: () => Promise<void> }> {
  await adminQuery(`DROP DATABASE IF EXISTS ${name}`);
  await adminQuery(`CREATE DATABASE ${name}`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
