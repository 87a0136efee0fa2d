import { describe, expect, it } from 'vitest';
import { jsonSyntaxProblem } from './json-text.js';

const problemOf = (text: string) => {
  try {
    JSON.parse(text);
  } catch (e) {
    return jsonSyntaxProblem(text, e as Error);
  }
  throw new Error('valid JSON');
};

describe('JSON syntax errors as line:column', () => {
  it('converts the position Node gives', () => {
    expect(problemOf('{\n  "a": 1\n  "b": 2\n}')).toEqual({
      line: 3,
      column: 3,
      message: "Expected ',' or '}' after property value",
    });
  });

  it('finds the place when Node gives a snippet and no position, and places an unexpected end at the end', () => {
    const long = `{\n${Array.from({ length: 30 }, (_, i) => `  "k${i}": ${i},`).join('\n')}\n  "z": tru\n}`;
    expect(problemOf(long)).toMatchObject({ line: 32, column: 8, message: "Unexpected token '\\n'" });
    expect(problemOf('// a comment\n{}')).toEqual({ line: 1, column: 1, message: "Unexpected token '/'" });
    expect(problemOf('{\n  "a": 1')).toMatchObject({ line: 2, column: 9 });
  });
});
