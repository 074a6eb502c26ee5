/**
 * JSON that keeps 64-bit integers exact. JSON.parse turns every number into a double, so a
 * term or shard id above 2^53 would silently change; Node 20's reviver cannot see the source
 * text either. This small strict parser returns integer literals as bigint (other numbers as
 * number) and objects as Maps (no prototype keys, duplicate keys rejected); the writer emits
 * bigints as plain digits, which is what Go's encoding/json writes for int64.
 */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
  }
}

/** Nesting deeper than this is refused: the status is 6 levels deep, and recursion must stay bounded. */
export const JSON_DEPTH_MAX = 64;

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const WHITESPACE = /[ \t\n\r]*/y;

export function parseJson(text: string): JsonValue {
  let pos = 0;

  const skipWhitespace = (): void => {
    WHITESPACE.lastIndex = pos;
    WHITESPACE.exec(text);
    pos = WHITESPACE.lastIndex;
  };

  const expect = (literal: string): void => {
    if (!text.startsWith(literal, pos)) throw new JsonSyntaxError(`expected '${literal}'`, pos);
    pos += literal.length;
  };

  const parseString = (): string => {
    STRING.lastIndex = pos;
    const m = STRING.exec(text);
    if (!m) throw new JsonSyntaxError('invalid string', pos);
    pos = STRING.lastIndex;
    // The literal is valid JSON, so JSON.parse decodes its escapes exactly.
    return JSON.parse(m[0]) as string;
  };

  const parseValue = (depth: number): JsonValue => {
    if (depth > JSON_DEPTH_MAX) throw new JsonSyntaxError(`nesting deeper than ${JSON_DEPTH_MAX}`, pos);
    skipWhitespace();
    const c = text[pos];
    switch (c) {
      case '{': {
        pos++;
        const obj: JsonObject = new Map();
        skipWhitespace();
        if (text[pos] === '}') {
          pos++;
          return obj;
        }
        for (;;) {
          skipWhitespace();
          const keyAt = pos;
          if (text[pos] !== '"') throw new JsonSyntaxError('expected a property name', pos);
          const key = parseString();
          if (obj.has(key)) throw new JsonSyntaxError(`duplicate key "${key}"`, keyAt);
          skipWhitespace();
          expect(':');
          obj.set(key, parseValue(depth + 1));
          skipWhitespace();
          if (text[pos] === ',') {
            pos++;
            continue;
          }
          expect('}');
          return obj;
        }
      }
      case '[': {
        pos++;
        const arr: JsonValue[] = [];
        skipWhitespace();
        if (text[pos] === ']') {
          pos++;
          return arr;
        }
        for (;;) {
          arr.push(parseValue(depth + 1));
          skipWhitespace();
          if (text[pos] === ',') {
            pos++;
            continue;
          }
          expect(']');
          return arr;
        }
      }
      case '"':
        return parseString();
      case 't':
        expect('true');
        return true;
      case 'f':
        expect('false');
        return false;
      case 'n':
        expect('null');
        return null;
      default: {
        NUMBER.lastIndex = pos;
        const m = NUMBER.exec(text);
        if (!m) throw new JsonSyntaxError(c === undefined ? 'unexpected end of input' : `unexpected character '${c}'`, pos);
        pos = NUMBER.lastIndex;
        const isInteger = m[1] === undefined && m[2] === undefined;
        return isInteger ? BigInt(m[0]) : Number(m[0]);
      }
    }
  };

  const value = parseValue(0);
  skipWhitespace();
  if (pos !== text.length) throw new JsonSyntaxError('unexpected data after the value', pos);
  return value;
}

/** Compact JSON (no whitespace), keys in the Map's insertion order. */
export function stringifyJson(value: JsonValue): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError(`JSON cannot hold ${value}`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(stringifyJson).join(',')}]`;
  const parts: string[] = [];
  for (const [k, v] of value) parts.push(`${JSON.stringify(k)}:${stringifyJson(v)}`);
  return `{${parts.join(',')}}`;
}

export function describeJsonType(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Map) return 'an object';
  if (typeof value === 'bigint') return 'an integer';
  return `a ${typeof value}`;
}
