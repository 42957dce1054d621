// Validation on both sides of the wire with Ajv (JSON Schema 2020-12, formats included), as
// strict as the Python runtime's (runtime/leveret/_codec.py): JSON types must match, NaN and
// infinities are refused everywhere, and errors are reported as pydantic-style
// {loc, msg, type} entries so a caller cannot tell a TypeScript worker from a Python one by them.

import type { SchemaValidateFunction } from 'ajv';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

import { addLeveretFormats } from './formats';
import type { Schema } from './spec';
import { isWellFormed } from './wire';

export interface ErrorDetail {
  loc: string[];
  msg: string;
  type: string;
}

/** How many validation errors an error reply lists; the rest are only counted. */
export const MAX_LISTED_ERRORS = 100;
const MAX_LOC = 64;
const MAX_MSG = 200;

/** What a body using NaN, Infinity or -Infinity is told. */
export const NON_FINITE = 'NaN, Infinity and -Infinity are not JSON numbers';
/** What a number too large for a double is told. */
export const TOO_LARGE = 'a number too large for a double (it would read as infinity)';
/** What a caller passing NaN or an infinity is told. */
export const NOT_FINITE_ARGUMENT = 'NaN and infinities cannot be sent: JSON has no such numbers';
/** Integers of more digits are "number out of range" to JSON readers (Python's limit). */
export const MAX_INTEGER_DIGITS = 4300;

function newAjv(): Ajv2020 {
  // strict: false: definitions carry `x-` keys and other annotations Ajv's strict mode refuses.
  // ownProperties: `required: ["toString"]` must not be met by Object.prototype's.
  const ajv = new Ajv2020({
    allErrors: true,
    strict: false,
    validateFormats: true,
    ownProperties: true,
    // error.data: pydantic names an integer's failure by what it got (int_from_float for 1.5).
    verbose: true,
  });
  addFormats(ajv);
  // Ajv divides doubles (19.99 / 0.01 is 1998.9999999999998, refused); the Python runtime is
  // exact on the decimals written.
  ajv.removeKeyword('multipleOf');
  ajv.addKeyword({ keyword: 'multipleOf', type: 'number', schemaType: 'number', errors: true, validate: checkMultipleOf });
  // The Python runtime's format checks replace ajv-formats' (same verdicts on both sides).
  return addLeveretFormats(ajv);
}

/** A double as the shortest decimal that reads back as it (Python's repr): digits x 10^exponent. */
function decimalOf(value: number): [bigint, number] {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(value));
  if (m === null) throw new RangeError(`not a finite number: ${value}`);
  const fraction = m[3] ?? '';
  const digits = BigInt(m[1] + m[2] + fraction);
  return [digits, Number(m[4] ?? 0) - fraction.length];
}

/** Whether `value` is a multiple of `divisor`, exactly on their decimals (0.07 of 0.01). */
export function isMultipleOf(value: number, divisor: number): boolean {
  if (!Number.isFinite(value)) return false;
  const [a, ea] = decimalOf(value);
  const [b, eb] = decimalOf(divisor);
  const low = Math.min(ea, eb);
  return (a * 10n ** BigInt(ea - low)) % (b * 10n ** BigInt(eb - low)) === 0n;
}

const checkMultipleOf: SchemaValidateFunction = function (divisor: number, value: number): boolean {
  if (isMultipleOf(value, divisor)) return true;
  checkMultipleOf.errors = [{ keyword: 'multipleOf', message: `must be multiple of ${divisor}`, params: { multipleOf: divisor } }];
  return false;
};

let shared: Ajv2020 | null = null;
const compiled = new WeakMap<object, ValidateFunction>();

/** The compiled validator of a schema, cached per schema object. */
export function validatorFor(schema: Schema): ValidateFunction {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    shared ??= newAjv();
    try {
      validate = shared.compile(schema);
    } catch (error) {
      // Two schema objects with the same $id cannot share one Ajv instance.
      if (!/already exists/.test(String(error))) throw error;
      validate = newAjv().compile(schema);
    }
    compiled.set(schema, validate);
  }
  return validate;
}

function clip(text: string, limit: number): string {
  return text.length <= limit ? text : text.slice(0, limit - 1) + '\u2026';
}

function pointerParts(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function jsonish(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

const TYPE_ERRORS: Record<string, [string, string]> = {
  number: ['float_type', 'Input should be a valid number'],
  integer: ['int_type', 'Input should be a valid integer'],
  string: ['string_type', 'Input should be a valid string'],
  boolean: ['bool_type', 'Input should be a valid boolean'],
  array: ['list_type', 'Input should be a valid list'],
  object: ['model_type', 'Input should be an object'],
  null: ['none_required', 'Input should be None'],
};

const FORMAT_ERRORS: Record<string, [string, string]> = {
  uuid: ['uuid_parsing', 'Input should be a valid UUID'],
  'date-time': ['datetime_from_date_parsing', 'Input should be a valid datetime with a time zone'],
  date: ['date_from_datetime_parsing', 'Input should be a valid date in the format YYYY-MM-DD'],
  email: ['value_error', 'value is not a valid email address'],
  uri: ['url_parsing', 'Input should be a valid URL'],
};

/** One Ajv error as a pydantic-style entry (the type names pydantic gives the same failures). */
function detailOf(error: ErrorObject): ErrorDetail {
  const loc = pointerParts(error.instancePath);
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { loc: [...loc, String(p.missingProperty)], msg: 'Field required', type: 'missing' };
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const name = String(p.additionalProperty ?? p.unevaluatedProperty);
      return { loc: [...loc, name], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' };
    }
    case 'type': {
      const types = String(p.type).split(',').filter((t) => t !== 'null');
      if (types[0] === 'integer' && typeof error.data === 'number' && Number.isFinite(error.data)) {
        return { loc, msg: 'Input should be a valid integer, got a number with a fractional part', type: 'int_from_float' };
      }
      const [type, msg] = TYPE_ERRORS[types[0] ?? 'null'] ?? ['type_error', `Input should be ${p.type}`];
      return { loc, msg, type };
    }
    case 'pattern':
      return { loc, msg: `String should match pattern '${p.pattern}'`, type: 'string_pattern_mismatch' };
    case 'minLength':
      return { loc, msg: `String should have at least ${p.limit} character${p.limit === 1 ? '' : 's'}`, type: 'string_too_short' };
    case 'maxLength':
      return { loc, msg: `String should have at most ${p.limit} character${p.limit === 1 ? '' : 's'}`, type: 'string_too_long' };
    case 'minimum':
      return { loc, msg: `Input should be greater than or equal to ${p.limit}`, type: 'greater_than_equal' };
    case 'maximum':
      return { loc, msg: `Input should be less than or equal to ${p.limit}`, type: 'less_than_equal' };
    case 'exclusiveMinimum':
      return { loc, msg: `Input should be greater than ${p.limit}`, type: 'greater_than' };
    case 'exclusiveMaximum':
      return { loc, msg: `Input should be less than ${p.limit}`, type: 'less_than' };
    case 'multipleOf':
      return { loc, msg: `Input should be a multiple of ${p.multipleOf}`, type: 'multiple_of' };
    case 'minItems':
      return { loc, msg: `List should have at least ${p.limit} item${p.limit === 1 ? '' : 's'} after validation`, type: 'too_short' };
    case 'maxItems':
      return { loc, msg: `List should have at most ${p.limit} item${p.limit === 1 ? '' : 's'} after validation`, type: 'too_long' };
    case 'enum': {
      const values = (p.allowedValues as unknown[]) ?? [];
      return { loc, msg: `Input should be ${values.map(jsonish).join(' or ')}`, type: 'enum' };
    }
    case 'const':
      return { loc, msg: `Input should be ${jsonish(p.allowedValue)}`, type: 'literal_error' };
    case 'format': {
      const [type, msg] = FORMAT_ERRORS[String(p.format)] ?? ['value_error', `Input should match format '${p.format}'`];
      return { loc, msg, type };
    }
    default:
      return { loc, msg: error.message ?? `failed ${error.keyword}`, type: 'value_error' };
  }
}

/** Ajv's errors as at most MAX_LISTED_ERRORS entries, then one counting the rest. */
export function validationDetails(errors: readonly ErrorObject[]): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const seen = new Set<string>();
  let more = 0;
  for (const error of errors) {
    // Combinators (anyOf, oneOf, if) report each branch's failures; the umbrella entry adds none.
    if (error.keyword === 'anyOf' || error.keyword === 'oneOf' || error.keyword === 'if') {
      if (errors.length > 1) continue;
    }
    const detail = detailOf(error);
    const key = JSON.stringify(detail);
    if (seen.has(key)) continue;
    seen.add(key);
    if (details.length >= MAX_LISTED_ERRORS) {
      more += 1;
      continue;
    }
    details.push({ loc: detail.loc.map((part) => clip(part, MAX_LOC)), msg: clip(detail.msg, MAX_MSG), type: detail.type });
  }
  if (more) details.push({ loc: [], msg: `... and ${more} more error(s)`, type: 'too_many_errors' });
  return details;
}

/** One line of details: `<where>: <msg>` joined by "; " (`(body)` for the whole). */
export function summary(details: readonly ErrorDetail[]): string {
  return details
    .map((d) => (d.type === 'too_many_errors' ? d.msg : `${d.loc.join('.') || '(body)'}: ${d.msg}`))
    .join('; ');
}

/** The first place of a value that JSON cannot carry to a leveret peer, and why, or null. */
export function findUnsendable(value: unknown, path: string[] = []): { loc: string[]; msg: string; type: string } | null {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? null : { loc: path, msg: NOT_FINITE_ARGUMENT, type: 'finite_number' };
    case 'string':
      return isWellFormed(value)
        ? null
        : { loc: path, msg: 'cannot be sent as JSON: a lone surrogate, not valid Unicode', type: 'json_invalid' };
    case 'bigint':
      return { loc: path, msg: 'a bigint, which JSON cannot carry: pass a number', type: 'json_invalid' };
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const found = findUnsendable(value[i], [...path, String(i)]);
          if (found) return found;
        }
        return null;
      }
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        // What JSON.stringify sends is what toJSON returns (a Date's string; NaN would go as null).
        const sent: unknown = toJSON.call(value, path.length ? path[path.length - 1] : '');
        if (sent !== value) return findUnsendable(sent, path);
      }
      for (const [key, item] of Object.entries(value)) {
        if (!isWellFormed(key)) {
          return { loc: path, msg: 'cannot be sent as JSON: a key with a lone surrogate', type: 'json_invalid' };
        }
        const found = findUnsendable(item, [...path, key]);
        if (found) return found;
      }
      return null;
    }
    default:
      return null;
  }
}

/** The path of the first NaN or infinity in parsed JSON (`1e400` reads as Infinity), or null. */
export function findNonFinite(value: unknown, path: string[] = []): string[] | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : path;
  if (typeof value !== 'object' || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNonFinite(value[i], [...path, String(i)]);
      if (found) return found;
    }
    return null;
  }
  for (const [key, item] of Object.entries(value)) {
    const found = findNonFinite(item, [...path, key]);
    if (found) return found;
  }
  return null;
}

function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return !isWellFormed(value);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  for (const [key, item] of Object.entries(value)) {
    if (!isWellFormed(key) || hasLoneSurrogate(item)) return true;
  }
  return false;
}

function lineColumn(text: string, index: number): string {
  let line = 1;
  let column = 1;
  for (let i = 0; i < index && i < text.length; i++) {
    if (text[i] === '\n') {
      line += 1;
      column = 1;
    } else column += 1;
  }
  return `line ${line} column ${column}`;
}

/** Where the text uses a NaN or Infinity token outside strings, or -1. */
function nonFiniteToken(text: string): number {
  if (!text.includes('NaN') && !text.includes('Infinity')) return -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i += 1;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (text.startsWith('NaN', i) || text.startsWith('Infinity', i)) return i;
  }
  return -1;
}

/** Whether the digit at `i` starts a number's integer part (not its fraction or exponent). */
function integerPartStarts(text: string, i: number): boolean {
  let before = text[i - 1];
  if (before === '+' || before === '-') before = text[i - 2];
  return before !== '.' && before !== 'e' && before !== 'E';
}

/** Where the text has an integer of more than MAX_INTEGER_DIGITS digits outside strings, or -1. */
function hugeInteger(text: string): number {
  if (text.length <= MAX_INTEGER_DIGITS) return -1;
  let inString = false;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i += 1;
      else if (ch === 0x22) inString = false;
      continue;
    }
    if (ch === 0x22) {
      inString = true;
      run = 0;
    } else if (ch >= 0x30 && ch <= 0x39) {
      if (run === 0 && !integerPartStarts(text, i)) run = -Infinity; // a fraction or an exponent
      run += 1;
      if (run > MAX_INTEGER_DIGITS) return i - run + 1;
    } else run = 0;
  }
  return -1;
}

/** How deep a value may be nested: pydantic-core's JSON parser (jiter) refuses deeper ones. */
export const MAX_JSON_DEPTH = 200;

/**
 * Where the text has a value inside more than MAX_JSON_DEPTH arrays and objects, and the
 * containers open there (true: an array), or null. Iterative: the recursive walks after
 * JSON.parse (and Ajv's) overflow the stack on a body of 100000 "[". jiter counts a value, not
 * a container, so "[]" at depth 200 is fine and the place reported is the value's.
 */
function tooDeep(text: string): { at: number; open: boolean[] } | null {
  // Fewer than 201 "[" and "{" in all cannot nest 201 deep: native searches, a fraction of the
  // scan's cost on a typical body (0.4 us instead of 5.8 on 1.4 kB, as much as JSON.parse).
  let openers = 0;
  for (let i = text.indexOf('['); i >= 0 && openers <= MAX_JSON_DEPTH; i = text.indexOf('[', i + 1)) openers += 1;
  for (let i = text.indexOf('{'); i >= 0 && openers <= MAX_JSON_DEPTH; i = text.indexOf('{', i + 1)) openers += 1;
  if (openers <= MAX_JSON_DEPTH) return null;
  const open: boolean[] = [];
  let inString = false;
  let valueNext = true; // after "[", ":" or an array's ",": the next token starts a value
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i += 1;
      else if (ch === 0x22) inString = false;
      continue;
    }
    if (ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09) continue;
    if (valueNext && ch !== 0x5d && ch !== 0x7d && open.length > MAX_JSON_DEPTH) return { at: i, open };
    valueNext = false;
    if (ch === 0x5b || ch === 0x7b) {
      open.push(ch === 0x5b);
      valueNext = ch === 0x5b;
    } else if (ch === 0x5d || ch === 0x7d) open.pop();
    else if (ch === 0x3a) valueNext = true;
    else if (ch === 0x2c) valueNext = open[open.length - 1] === true;
    else if (ch === 0x22) inString = true;
  }
  return null;
}

/** jiter's "line L column C": the column in bytes of UTF-8, as the Python runtime says it. */
function byteLineColumn(text: string, index: number): string {
  const lineStart = text.lastIndexOf('\n', index - 1) + 1;
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < lineStart; i = text.indexOf('\n', i + 1)) line += 1;
  return `line ${line} column ${Buffer.byteLength(text.slice(lineStart, index)) + 1}`;
}

function recursionLimit(text: string, at: number): BodyError {
  return invalidJson(`Invalid JSON: recursion limit exceeded at ${byteLineColumn(text, at)}`);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A JSON body that is not usable, as INVALID_ARGUMENT details. */
export class BodyError extends Error {
  constructor(readonly details: ErrorDetail[]) {
    super(summary(details));
  }
}

function invalidJson(msg: string): BodyError {
  return new BodyError([{ loc: [], msg, type: 'json_invalid' }]);
}

/**
 * A received body's JSON, read as strictly as leveret reads the wire: UTF-8 without a BOM, no
 * NaN/Infinity tokens, no integer longer than JSON readers take, no lone surrogate, and (when
 * `schema` is given) valid by it, with no number that reads as infinity.
 */
export function readBody(body: Buffer, schema?: Schema): unknown {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw invalidJson('Invalid JSON: the body is not valid UTF-8');
  }
  if (text.charCodeAt(0) === 0xfeff) throw invalidJson('Invalid JSON: expected value at line 1 column 1');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const deep = tooDeep(text);
    if (deep !== null) {
      // The Python runtime reads up to the first fault: the nesting when the text before it
      // is JSON so far (closed here to test that), else the syntax error.
      const closers = deep.open.map((array) => (array ? ']' : '}')).reverse().join('');
      try {
        JSON.parse(text.slice(0, deep.at) + '0' + closers);
        throw recursionLimit(text, deep.at);
      } catch (inner) {
        if (inner instanceof BodyError) throw inner;
      }
    }
    const at = nonFiniteToken(text);
    if (at >= 0) throw invalidJson(`${NON_FINITE} (at ${lineColumn(text, at)})`);
    const message = (error as Error).message.replace(/^Unexpected/, 'unexpected');
    throw invalidJson(`Invalid JSON: ${message}`);
  }
  const huge = hugeInteger(text);
  const deep = tooDeep(text);
  // Before the recursive walks below; of two faults, the first in the text is the one told.
  if (deep !== null && (huge < 0 || deep.at < huge)) throw recursionLimit(text, deep.at);
  if (huge >= 0) throw invalidJson(`Invalid JSON: number out of range at ${lineColumn(text, huge)}`);
  if (hasLoneSurrogate(value)) throw invalidJson('Invalid JSON: lone leading surrogate in hex escape');
  // Before the schema: 1e400 in an integer is refused as a number JSON cannot hold, as the
  // Python worker says, not as the bound it breaks.
  const where = findNonFinite(value);
  if (where !== null) throw new BodyError([{ loc: where, msg: TOO_LARGE, type: 'finite_number' }]);
  if (schema !== undefined) {
    const validate = validatorFor(schema);
    if (!validate(value)) throw new BodyError(validationDetails(validate.errors ?? []));
  }
  return value;
}

/** Whether `value` is valid by `schema`; its details when not. */
export function check(schema: Schema, value: unknown): ErrorDetail[] | null {
  const validate = validatorFor(schema);
  return validate(value) ? null : validationDetails(validate.errors ?? []);
}
