// The one small database interface every module uses. Two drivers implement it: PGlite (embedded,
// default) and node-postgres (DATABASE_URL). The caller owns the transaction: a route or a job opens
// it with `db.tx`, services and repositories only receive a `Queryable`.

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Runs a multi-statement script without parameters (migrations, set-based batches). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
