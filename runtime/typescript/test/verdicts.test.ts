// Verdicts the TypeScript validators must give as the Python runtime (the reference) gives
// them, where Ajv's own would differ (review 13).

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { check, findUnsendable, isMultipleOf, readBody } from '../src/validate';

describe('multipleOf', () => {
  it('is exact on the decimals written, as the Python runtime is', () => {
    // Ajv's float division refused these (19.99 / 0.01 = 1998.9999999999998).
    for (const value of [19.99, 0.07, 4.35, 0.3, -0.07, 0, -0, 1e308, 123456789.1, 1e21, 1.5e-1]) {
      assert.equal(check({ type: 'number', multipleOf: 0.01 }, value), null, String(value));
    }
    assert.equal(check({ type: 'number', multipleOf: 0.1 }, 0.7), null);
    assert.equal(check({ type: 'number', multipleOf: 1e-7 }, 3e-7), null);
    assert.equal(check({ type: 'number', multipleOf: 2.5 }, 1e300), null);
    assert.deepEqual(readBody(Buffer.from('{"x": 19.99}'), { type: 'object', properties: { x: { multipleOf: 0.01 } } }), { x: 19.99 });
  });

  it('refuses what is not a multiple, with the detail it gave before', () => {
    assert.deepEqual(check({ type: 'object', properties: { x: { type: 'number', multipleOf: 0.1 } } }, { x: 0.35 }), [
      { loc: ['x'], msg: 'Input should be a multiple of 0.1', type: 'multiple_of' },
    ]);
    for (const [value, divisor] of [
      [1e-7, 0.1],
      [5e-324, 0.01],
      [0.1, 0.3],
      [7, 3],
      [1e21 + 2 ** 17, 1e21],
      [Infinity, 0.1],
      [NaN, 1],
    ] as const) {
      assert.equal(isMultipleOf(value, divisor), false, `${value} of ${divisor}`);
    }
    assert.equal(check({ type: 'integer', multipleOf: 3 }, 7)?.[0]?.type, 'multiple_of');
    assert.equal(check({ type: 'string', multipleOf: 3 }, 'x'), null); // a number keyword only
  });
});

describe('what a caller sends', () => {
  it('is checked as JSON.stringify sends it: after toJSON', () => {
    const nan = { toJSON: () => NaN };
    assert.deepEqual(findUnsendable({ a: [nan] }), {
      loc: ['a', '0'],
      msg: 'NaN and infinities cannot be sent: JSON has no such numbers',
      type: 'finite_number',
    });
    assert.equal(findUnsendable({ a: { toJSON: () => ({ b: Infinity }) } })?.loc.join('.'), 'a.b');
    assert.equal(findUnsendable({ a: { toJSON: () => '\ud800' } })?.type, 'json_invalid');
    let key: unknown;
    assert.equal(findUnsendable({ when: new Date(0), k: { toJSON: (k: unknown) => ((key = k), 1) } }), null);
    assert.equal(key, 'k'); // the key, as JSON.stringify passes it
    const self = { n: NaN, toJSON(): unknown { return self; } }; // stringify sends its properties
    assert.equal(findUnsendable([self])?.loc.join('.'), '0.n');
  });
});
