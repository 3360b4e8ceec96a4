import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileQuery, type Fields } from './compile.js';
import { parseQuery, QuerySyntaxError } from './query.js';

const clause = (field: string, op: string, value: string | null, extra: Partial<{ negated: boolean; key: string; quoted: boolean }> = {}) => ({
  negated: extra.negated ?? false,
  field,
  key: extra.key ?? null,
  op,
  value,
  quoted: extra.quoted ?? true,
});

describe('parseQuery', () => {
  it('reads Stripe\'s documented examples', () => {
    expect(parseQuery(`email:"amy@rocketrides.io" metadata["key"]:"value"`)).toEqual({
      join: 'and',
      clauses: [clause('email', ':', 'amy@rocketrides.io'), clause('metadata', ':', 'value', { key: 'key' })],
    });
    expect(parseQuery(`-currency:"usd"`)).toEqual({ join: 'and', clauses: [clause('currency', ':', 'usd', { negated: true })] });
    expect(parseQuery(`total>1000`)).toEqual({ join: 'and', clauses: [clause('total', '>', '1000', { quoted: false })] });
    expect(parseQuery(`status:'succeeded' AND metadata['order_id']:'6735'`)).toEqual({
      join: 'and',
      clauses: [clause('status', ':', 'succeeded'), clause('metadata', ':', '6735', { key: 'order_id' })],
    });
    expect(parseQuery(`name~"amy" or email~"amy"`)).toEqual({ join: 'or', clauses: [clause('name', '~', 'amy'), clause('email', '~', 'amy')] });
  });

  it('reads comparators, null, escapes and extra spaces', () => {
    expect(parseQuery(`  created>=1700000000   created<=1700086400 `).clauses.map((c) => [c.op, c.value])).toEqual([
      ['>=', '1700000000'],
      ['<=', '1700086400'],
    ]);
    expect(parseQuery(`-metadata["plan"]:null`).clauses[0]).toEqual(clause('metadata', ':', null, { negated: true, key: 'plan', quoted: false }));
    // A quoted null is the text "null".
    expect(parseQuery(`name:"null"`).clauses[0]!.value).toBe('null');
    expect(parseQuery(`name:"say \\"hi\\" \\\\ ok"`).clauses[0]!.value).toBe('say "hi" \\ ok');
  });

  it.each([
    ['', 'The query is empty'],
    ['email', 'Expected an operator'],
    ['email:', 'Expected a value'],
    ['email:"amy', 'Unterminated string'],
    ['a:1 AND b:2 OR c:3', 'AND and OR cannot be combined'],
    ['a:1 b:2 OR c:3', 'AND and OR cannot be combined'],
    ['a:1 AND', 'Expected an operator'],
    ['metadata[key]:"x"', 'Expected a quoted string'],
    ['a:"1"b:2', 'Expected a space between clauses'],
    [Array.from({ length: 11 }, (_, i) => `f:${i}`).join(' '), 'at most 10 clauses'],
  ])('refuses %j: %s', (q, message) => {
    expect(() => parseQuery(q)).toThrow(QuerySyntaxError);
    expect(() => parseQuery(q)).toThrow(message);
  });

  it('either parses or throws QuerySyntaxError, for any input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60, unit: fc.constantFrom(...'ab:~<>=-"\'[]\\ ANDOR1 null'.split('')) }), (s) => {
        try {
          const q = parseQuery(s);
          expect(q.clauses.length).toBeGreaterThan(0);
          expect(q.clauses.length).toBeLessThanOrEqual(10);
        } catch (err) {
          expect(err).toBeInstanceOf(QuerySyntaxError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('compileQuery', () => {
  const fields: Fields = {
    email: { type: 'string', sql: 'email' },
    currency: { type: 'string', sql: 'currency' },
    customer: { type: 'token', sql: 'customer' },
    amount: { type: 'numeric', sql: 'amount' },
    created: { type: 'timestamp', sql: 'created' },
    active: { type: 'boolean', sql: 'active' },
    metadata: { type: 'metadata', sql: 'metadata' },
  };
  const compile = (q: string) => compileQuery(parseQuery(q), fields, 'things', 1);

  it('turns each field type into its condition, numbering the parameters', () => {
    expect(compile(`email:"Amy@X.io" amount>=500 customer:"cus_A"`)).toEqual({
      where: '(lower(email) = lower($1)) AND (amount >= $2) AND (customer = $3)',
      params: ['Amy@X.io', 500, 'cus_A'],
    });
    expect(compile(`email~"amy" OR metadata["k"]:"v" OR active:"true"`)).toEqual({
      where: '(strpos(lower(email), lower($1)) > 0) OR ((metadata ->> $2) = $3) OR (active = $4)',
      params: ['amy', 'k', 'v', true],
    });
  });

  it('negates with IS NOT TRUE, so rows without the field match a negated clause', () => {
    expect(compile(`-currency:"usd" -metadata["k"]:null`)).toEqual({
      where: '(lower(currency) = lower($1)) IS NOT TRUE AND ((metadata ->> $2) IS NULL) IS NOT TRUE',
      params: ['usd', 'k'],
    });
  });

  it('reads created as Unix seconds, each second whole', () => {
    expect(compile('created:1700000000')).toEqual({ where: '(created >= to_timestamp($1) AND created < to_timestamp($2))', params: [1700000000, 1700000001] });
    expect(compile('created>1700000000').params).toEqual([1700000001]);
    expect(compile('created<=1700000000')).toEqual({ where: '(created < to_timestamp($1))', params: [1700000001] });
  });

  it.each([
    ['shoe:"x"', 'Field `shoe` is an unsupported search field for resource `things`'],
    ['amount~"100"', 'does not support substring matching'],
    ['email~"am"', 'needs at least 3 characters'],
    ['email>"a"', 'does not support the comparison >'],
    ['amount:"ten"', 'takes a whole number, not "ten"'],
    ['amount:1.5', 'takes a whole number'],
    ['active:"yes"', 'is true or false'],
    ['metadata:"x"', 'Search metadata by key'],
    ['email["k"]:"x"', 'takes no [key]'],
    ['amount>null', 'null can only be matched with `:`'],
    ['created>99999999999999', 'takes a Unix timestamp no later than 9999-12-31'],
    ['constructor:"x"', 'unsupported search field'],
  ])('refuses %j: %s', (q, message) => {
    expect(() => compile(q)).toThrow(QuerySyntaxError);
    expect(() => compile(q)).toThrow(message);
  });
});
