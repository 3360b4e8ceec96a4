// Wide rows read from PGlite as one JSON text per row. PGlite's protocol parser copies and decodes every
// field of every row on its own (a slice of the buffer and a TextDecoder call each), then builds the
// row object from an array of pairs: a 49-column invoice costs ~90 µs to read, most of it there.
// `SELECT row_to_json(r)::text FROM (<the query>) r` hands back one field per row, parsed by one
// JSON.parse: 1,000 invoices in ~45 ms instead of ~83 ms (ADR 0003). The result must be the rows PGlite
// would have returned, so a statement is read this way only after a first, plain run has shown its
// columns, and only when every column's type comes out of JSON as PGlite parses it; the few that need
// a conversion (timestamps become Dates) are converted here. node-postgres is left as it is: the same
// wrapping there measured no faster end to end (bench:billing on PostgreSQL, 2026-12-07).

/** Types whose JSON form parses to what PGlite's own parsers (and Recur's int8 parser) return. */
const AS_JSON = new Set([
  16, // bool
  19, // name
  20, // int8 (Recur parses it to a number, as JSON.parse does)
  21, // int2
  23, // int4
  25, // text
  26, // oid
  114, // json
  1042, // bpchar
  1043, // varchar
  3802, // jsonb
  1000, // bool[]
  1005, // int2[]
  1007, // int4[]
  1009, // text[]
  1015, // varchar[]
  1016, // int8[]
  199, // json[]
  3807, // jsonb[]
]);
/** Dates: PGlite's parser gives `new Date(text)`, or ±Infinity for PostgreSQL's infinities. */
const AS_DATE = new Set([1082, 1114, 1184]);

const SCHEMA_CHANGE = /^\s*(create|alter|drop|comment|do|reset|set\s+(session\s+|local\s+)?search_path)\b/i;
/** A statement after which a query's columns may differ (DDL, `DO`, a `search_path` change). */
export const mayChangeColumns = (sql: string): boolean => SCHEMA_CHANGE.test(sql);

/** Below this many columns the per-field cost saved is smaller than the wrapping's. */
const MIN_COLUMNS = 5;
const MAX_STATEMENTS = 5_000;

export interface FieldInfo {
  name: string;
  dataTypeID: number;
}

/** The columns that need converting after JSON.parse; null when the statement is read as PGlite returns it. */
type Shape = { dates: string[] } | null;

export class JsonRows {
  private readonly shapes = new Map<string, Shape>();

  /** undefined: not run yet; null: read plainly; otherwise read as JSON with these conversions. */
  shapeOf(sql: string): Shape | undefined {
    return this.shapes.get(sql);
  }

  /**
   * Forgets every shape when `sql` may change what a statement's columns are (a migration, DDL, another
   * search_path): a `SELECT *` read as JSON after a new timestamp column would leave it a string.
   */
  noteStatement(sql: string): void {
    if (mayChangeColumns(sql)) this.shapes.clear();
  }

  clear(): void {
    this.shapes.clear();
  }

  /** Records what the first, plain run of `sql` showed. */
  learn(sql: string, fields: readonly FieldInfo[]): void {
    if (this.shapes.size >= MAX_STATEMENTS) this.shapes.clear();
    this.shapes.set(sql, eligible(sql, fields) ? { dates: fields.filter((f) => AS_DATE.has(f.dataTypeID)).map((f) => f.name) } : null);
  }
}

function eligible(sql: string, fields: readonly FieldInfo[]): boolean {
  // Only a plain SELECT can be a subquery (a WITH may hold an INSERT or UPDATE, which must stay on top).
  if (!/^\s*select\b/i.test(sql)) return false;
  if (fields.length < MIN_COLUMNS) return false;
  // Duplicate names: the row object keeps the last, as JSON.parse does; still, keep such rows plain.
  if (new Set(fields.map((f) => f.name)).size !== fields.length) return false;
  return fields.every((f) => AS_JSON.has(f.dataTypeID) || AS_DATE.has(f.dataTypeID));
}

/** The statement that returns the same rows as one JSON text each (a newline ends a trailing comment). */
export function asJson(sql: string): string {
  return `SELECT row_to_json(recur_row)::text AS j FROM (\n${sql.replace(/;\s*$/, '')}\n) AS recur_row`;
}

function toDate(v: unknown): unknown {
  if (v === null || typeof v !== 'string') return v;
  if (v === 'infinity') return Infinity;
  if (v === '-infinity') return -Infinity;
  return new Date(v);
}

export function decodeRows<R>(rows: readonly { j: string }[], shape: { dates: string[] }): R[] {
  const out = new Array<R>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const o = JSON.parse(rows[i]!.j) as Record<string, unknown>;
    for (const d of shape.dates) o[d] = toDate(o[d]);
    out[i] = o as R;
  }
  return out;
}
