import { QuerySyntaxError, type Clause, type Query } from './query.js';

// A parsed query checked against a resource's searchable fields and turned into a SQL condition with
// numbered parameters. Field types follow Stripe's:
// - string: exact match (`:`, case-insensitive) and substring (`~`, at least 3 characters);
// - token: exact match only, case-sensitive (ids, currencies, metadata values);
// - numeric: exact match and `>`, `<`, `>=`, `<=` (amounts; `created` in Unix seconds);
// - boolean: `:"true"` or `:"false"`.
// Any field matches `:null` when it is absent. A negated clause (`-field:…`) matches every row the
// clause does not — including rows where the field is absent.

export type FieldType = 'string' | 'token' | 'numeric' | 'timestamp' | 'boolean' | 'metadata';

/** A searchable field: its type and the SQL expression of its column. */
export interface FieldSpec {
  type: FieldType;
  sql: string;
}

export type Fields = Readonly<Record<string, FieldSpec>>;

export interface Compiled {
  where: string;
  params: unknown[];
}

export const MIN_SUBSTRING = 3;
// The API's bound on timestamps (MAX_TIMESTAMP of http/schemas.ts, not imported: domain code stays free of the HTTP layer).
const MAX_TIMESTAMP = 253_402_300_799;

const INT = /^-?\d+$/;

export function compileQuery(query: Query, fields: Fields, resource: string, firstParam = 1): Compiled {
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${firstParam + params.length - 1}`;
  };
  const parts = query.clauses.map((c) => {
    const cond = clauseSql(c, fieldOf(c, fields, resource), p);
    // `IS NOT TRUE`: a negated clause keeps the rows whose field is absent (NULL), where NOT (…) would drop them.
    return c.negated ? `(${cond}) IS NOT TRUE` : `(${cond})`;
  });
  return { where: parts.join(query.join === 'and' ? ' AND ' : ' OR '), params };
}

function fieldOf(c: Clause, fields: Fields, resource: string): FieldSpec {
  const spec = Object.hasOwn(fields, c.field) ? fields[c.field]! : undefined;
  if (!spec) {
    const known = Object.keys(fields).sort().join(', ');
    throw new QuerySyntaxError(`Field \`${c.field}\` is an unsupported search field for resource \`${resource}\`. Supported fields: ${known}.`);
  }
  if ((spec.type === 'metadata') !== (c.key !== null)) {
    throw new QuerySyntaxError(spec.type === 'metadata' ? `Search metadata by key: metadata["key"]:"value".` : `Field \`${c.field}\` takes no [key].`);
  }
  return spec;
}

function clauseSql(c: Clause, spec: FieldSpec, p: (v: unknown) => string): string {
  const col = spec.type === 'metadata' ? `(${spec.sql} ->> ${p(c.key)})` : spec.sql;
  if (c.value === null) {
    if (c.op !== ':') throw new QuerySyntaxError(`null can only be matched with \`:\` (${c.field}${c.op}null).`);
    return `${col} IS NULL`;
  }
  const v = c.value;
  if (c.op === '~') {
    if (spec.type !== 'string') throw new QuerySyntaxError(`Field \`${c.field}\` does not support substring matching (~).`);
    if ([...v].length < MIN_SUBSTRING) throw new QuerySyntaxError(`Substring matching (${c.field}~"${v}") needs at least ${MIN_SUBSTRING} characters.`);
    return `strpos(lower(${col}), lower(${p(v)})) > 0`;
  }
  if (c.op !== ':' && spec.type !== 'numeric' && spec.type !== 'timestamp') {
    throw new QuerySyntaxError(`Field \`${c.field}\` does not support the comparison ${c.op}; only numeric fields do.`);
  }
  switch (spec.type) {
    case 'string':
      return `lower(${col}) = lower(${p(v)})`;
    case 'token':
    case 'metadata':
      return `${col} = ${p(v)}`;
    case 'boolean':
      if (v !== 'true' && v !== 'false') throw new QuerySyntaxError(`Field \`${c.field}\` is true or false, not "${v}".`);
      return `${col} = ${p(v === 'true')}`;
    case 'numeric':
      return `${col} ${c.op === ':' ? '=' : c.op} ${p(integer(c, v))}`;
    case 'timestamp': {
      const secs = integer(c, v);
      // PostgreSQL's timestamps end in the year 294276; Stripe's API in 9999.
      if (Math.abs(secs) > MAX_TIMESTAMP) throw new QuerySyntaxError(`Field \`${c.field}\` takes a Unix timestamp no later than 9999-12-31, not ${v}.`);
      return timestampSql(col, c.op, secs, p);
    }
  }
}

function integer(c: Clause, v: string): number {
  if (!INT.test(v) || !Number.isSafeInteger(Number(v))) throw new QuerySyntaxError(`Field \`${c.field}\` takes a whole number, not "${v}".`);
  return Number(v);
}

/**
 * A timestamp column against Unix seconds, as ranges so an index on the column can serve them: the
 * stored times carry milliseconds, and `created:1700000000` means the whole second.
 */
function timestampSql(col: string, op: Clause['op'], secs: number, p: (v: unknown) => string): string {
  const at = (s: number) => `to_timestamp(${p(s)})`;
  switch (op) {
    case '>':
      return `${col} >= ${at(secs + 1)}`;
    case '>=':
      return `${col} >= ${at(secs)}`;
    case '<':
      return `${col} < ${at(secs)}`;
    case '<=':
      return `${col} < ${at(secs + 1)}`;
    default:
      return `${col} >= ${at(secs)} AND ${col} < ${at(secs + 1)}`;
  }
}
