import { type ParseError, parse } from 'jsonc-parser';

/** Where a text is not valid JSON: 1-based line and column of the offending character, and what is wrong there. */
export interface JsonSyntaxProblem {
  line: number;
  column: number;
  message: string;
}

/** 1-based line and column of a UTF-16 offset in `text`. */
export function lineColumnOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

/**
 * JSON.parse's verdict on `text` (its `error`), placed as line:column. Node gives `… in JSON at position N`
 * (converted) or, for an unexpected token, a snippet and no position: then jsonc-parser, strict (no comments, no
 * trailing comma), finds the offset; an unexpected end is placed at the end of the text.
 */
export function jsonSyntaxProblem(text: string, error: Error): JsonSyntaxProblem {
  const at = /\s+in JSON at position (\d+)/.exec(error.message);
  let message = error.message.replace(/\s+in JSON at position \d+.*$/s, '');
  message = /^(Unexpected token '.*?'), .* is not valid JSON$/s.exec(message)?.[1] ?? message;
  message = message.replace(/[\n\r\t]/g, (c) => JSON.stringify(c).slice(1, -1)); // one line
  let offset = at ? Number(at[1]) : undefined;
  if (offset === undefined) {
    const errors: ParseError[] = [];
    parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    offset = errors[0]?.offset ?? text.length;
  }
  return { ...lineColumnOf(text, offset), message };
}
