// Stripe's search query language (https://docs.stripe.com/search#search-query-language), parsed into
// clauses. A clause is a field, an operator and a value: `email:"amy@example.com"`,
// `metadata["order_id"]:"6735"`, `amount>1000`, `-currency:"usd"` (negated), `name~"amy"` (substring).
// Clauses are joined by spaces or AND (all must hold) or OR (any may); AND and OR cannot be mixed, and
// there are no parentheses. At most 10 clauses. Pure: no knowledge of which fields exist (fields.ts).

export type Operator = ':' | '~' | '>' | '<' | '>=' | '<=';

export interface Clause {
  negated: boolean;
  /** The field's name as written (`email`, `metadata`); for metadata, `key` is the bracketed key. */
  field: string;
  key: string | null;
  op: Operator;
  /** A quoted or bare value; null for the bare word `null` (the field is absent). */
  value: string | null;
  /** Whether the value was quoted (a quoted 'null' is the text null). */
  quoted: boolean;
}

export interface Query {
  join: 'and' | 'or';
  clauses: Clause[];
}

export const MAX_CLAUSES = 10;

/** A query that cannot be parsed; the message says where. The caller turns it into a 400 on `query`. */
export class QuerySyntaxError extends Error {}

const FIELD_START = /[A-Za-z_]/;
const FIELD_CHAR = /[A-Za-z0-9_.]/;
// A bare (unquoted) value: numbers (amount>1000, created>1609459200), `null`, and plain words.
const BARE_CHAR = /[A-Za-z0-9_.@+-]/;

export function parseQuery(input: string): Query {
  const s = input;
  let i = 0;
  const clauses: Clause[] = [];
  let join: 'and' | 'or' | null = null;

  const skipSpaces = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw new QuerySyntaxError(`${what} at position ${i + 1} of the query.`);
  };

  const quoted = (): string => {
    const quote = s[i];
    if (quote !== '"' && quote !== "'") return fail('Expected a quoted string');
    i++;
    let out = '';
    while (i < s.length && s[i] !== quote) {
      // A backslash escapes the quote (and itself): "say \"hi\"".
      if (s[i] === '\\' && i + 1 < s.length) i++;
      out += s[i];
      i++;
    }
    if (i >= s.length) fail('Unterminated string');
    i++;
    return out;
  };

  const clause = (): Clause => {
    let negated = false;
    if (s[i] === '-') {
      negated = true;
      i++;
    }
    if (i >= s.length || !FIELD_START.test(s[i]!)) fail('Expected a field name');
    const start = i;
    while (i < s.length && FIELD_CHAR.test(s[i]!)) i++;
    const field = s.slice(start, i);
    let key: string | null = null;
    if (s[i] === '[') {
      i++;
      key = quoted();
      if (s[i] !== ']') fail('Expected ]');
      i++;
    }
    let op: Operator;
    const two = s.slice(i, i + 2);
    if (two === '>=' || two === '<=') {
      op = two;
      i += 2;
    } else if (s[i] === ':' || s[i] === '~' || s[i] === '>' || s[i] === '<') {
      op = s[i] as Operator;
      i++;
    } else {
      return fail(`Expected an operator (:, ~, >, <, >=, <=) after ${field}`);
    }
    if (s[i] === '"' || s[i] === "'") return { negated, field, key, op, value: quoted(), quoted: true };
    const vstart = i;
    while (i < s.length && BARE_CHAR.test(s[i]!)) i++;
    if (i === vstart) fail(`Expected a value after ${field}${op}`);
    const bare = s.slice(vstart, i);
    return { negated, field, key, op, value: bare === 'null' ? null : bare, quoted: false };
  };

  skipSpaces();
  if (i >= s.length) fail('The query is empty');
  clauses.push(clause());
  while (true) {
    const before = i;
    skipSpaces();
    if (i >= s.length) break;
    if (i === before) fail('Expected a space between clauses');
    const word = /^(AND|OR)\s/i.exec(s.slice(i));
    let thisJoin: 'and' | 'or' = 'and';
    if (word) {
      thisJoin = word[1]!.toLowerCase() as 'and' | 'or';
      i += word[1]!.length;
      skipSpaces();
    }
    if (join !== null && join !== thisJoin) fail('AND and OR cannot be combined in one query');
    join = thisJoin;
    if (clauses.length === MAX_CLAUSES) fail(`A query can have at most ${MAX_CLAUSES} clauses`);
    clauses.push(clause());
  }
  return { join: join ?? 'and', clauses };
}
