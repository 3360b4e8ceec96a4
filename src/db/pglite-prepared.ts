import { parse, protocol, type PGlite, type Results } from '@electric-sql/pglite';

// Statements sent to PGlite as named prepared statements, parsed once per connection and reused.
// PGlite's own `query` parses and plans every statement anew (an unnamed statement), and in its
// WebAssembly PostgreSQL the planning of a small query often costs several times its execution: the
// test clock's next-due query took 7.8 ms through `query` and 0.6 ms prepared (docs/BENCHMARKS.md).
// PostgreSQL keeps the plan (a generic one once it is no costlier than the custom ones, its own
// `plan_cache_mode = auto` rule) and re-plans by itself when a table the statement reads changes.
// This sends the same protocol messages PGlite's `query` sends, with a statement name.

type Serializer = (v: unknown) => string;

/** Named statements kept per connection; the least recently used beyond this are closed. */
const MAX_STATEMENTS = 500;

/** Queries and DML are prepared; other statements (SET, DDL, VACUUM…) gain nothing and run as PGlite sends them. */
export const preparable = (sql: string): boolean => /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i.test(sql);

/** Statement names are unique in the process, so two sets on one instance could never clash. */
let lastName = 0;

interface Prepared {
  name: string;
  /** Parameter type OIDs, from the server (Describe), to pick each value's serializer. */
  types: number[];
}

export class PreparedStatements {
  private readonly statements = new Map<string, Prepared>();

  constructor(
    private readonly pg: PGlite,
    private readonly serializers: Record<number, Serializer>,
    private readonly max = MAX_STATEMENTS,
  ) {}

  /** Drops every prepared statement (after a script or a statement that may change tables). */
  async forgetAll(q: { exec(sql: string): Promise<unknown> } | { query(sql: string): Promise<unknown> }): Promise<void> {
    if (this.statements.size === 0) return;
    this.statements.clear();
    await ('exec' in q ? q.exec('DEALLOCATE ALL') : q.query('DEALLOCATE ALL'));
  }

  /**
   * Runs one statement. The caller holds PGlite's locks as its `query` would: inside a transaction
   * the query lock (`runExclusive`), outside also the transaction lock.
   */
  async run(sql: string, params: readonly unknown[]): Promise<Results> {
    const send = (message: Uint8Array) => this.pg.execProtocolStream(message, { syncToFs: false });
    const messages = [];
    try {
      let statement = this.statements.get(sql);
      if (statement) {
        // Most recently used last: the Map's order is the eviction order.
        this.statements.delete(sql);
        this.statements.set(sql, statement);
      } else {
        const name = `recur_${++lastName}`;
        messages.push(...(await send(protocol.serialize.parse({ name, text: sql, types: [] }))));
        const types = parse.parseDescribeStatementResults(await send(protocol.serialize.describe({ type: 'S', name })));
        statement = { name, types };
        this.statements.set(sql, statement);
        if (this.statements.size > this.max) await this.evictOldest(send);
      }
      const types = statement.types;
      const values = params.map((v, i) => {
        if (v === null || v === undefined) return null;
        const serialize = this.serializers[types[i]!] ?? (this.pg.serializers[types[i]!] as Serializer | undefined);
        return serialize ? serialize(v) : String(v);
      });
      try {
        messages.push(
          ...(await send(protocol.serialize.bind({ statement: statement.name, values }))),
          ...(await send(protocol.serialize.describe({ type: 'P' }))),
          ...(await send(protocol.serialize.execute({}))),
        );
      } catch (err) {
        // A table it reads changed its columns behind the wrapper's back: the next run prepares it anew
        // (this run's error stands; the old name is dropped with the next DEALLOCATE ALL).
        if (err instanceof Error && /cached plan must not change result type/.test(err.message)) this.statements.delete(sql);
        throw err;
      }
    } catch (err) {
      // As PGlite's `query` does, the error names its statement.
      if (err instanceof Error && 'code' in err) Object.assign(err, { query: sql, params });
      throw err;
    } finally {
      // As PGlite's `query`: Sync ends the exchange, after an error too (the server skips to it).
      messages.push(...(await send(protocol.serialize.sync())));
    }
    return parse.parseResults(messages, this.pg.parsers)[0] ?? { rows: [], fields: [], affectedRows: 0 };
  }

  private async evictOldest(send: (m: Uint8Array) => Promise<unknown>): Promise<void> {
    const [sql, oldest] = this.statements.entries().next().value as [string, Prepared];
    this.statements.delete(sql);
    await send(protocol.serialize.close({ type: 'S', name: oldest.name }));
  }
}
