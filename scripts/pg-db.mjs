// CI helper: create or drop a PostgreSQL database (no psql needed). Usage: node scripts/pg-db.mjs create|drop NAME
import pg from 'pg';

const [action, name] = process.argv.slice(2);
if (!/^[a-z0-9_]+$/.test(name ?? '') || !['create', 'drop'].includes(action)) {
  console.error('usage: node scripts/pg-db.mjs create|drop NAME');
  process.exit(2);
}
const client = new pg.Client({ connectionString: process.env.PG_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres' });
await client.connect();
if (action === 'create') await client.query(`CREATE DATABASE ${name}`);
else await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
await client.end();
