import type { z } from 'zod';
import { PayloadError, type PayloadIssue } from './errors.js';

/**
 * Body parsers that a hostile sender cannot turn into a crash or into a field outside the signature:
 * JSON with a nesting bound (JSON.parse itself copes with any depth, but JSON.stringify, zod and every
 * recursive walk after it overflow the stack near a few thousand levels), and form bodies as
 * null-prototype objects (`__proto__`, `constructor`, `prototype` are plain keys, counted by the
 * Twilio signature like any other parameter, as twilio-node counts them).
 */

/** Deepest nesting accepted in a JSON body (objects and arrays). Real payloads stay under 10. */
export const MAX_JSON_DEPTH = 64;

/** Form parameters: every posted field; a repeated field keeps all its values. No prototype. */
export type FormParams = Record<string, string | string[]>;

/** The JSON text → a value; PayloadError (400) when it is not JSON or nested deeper than `maxDepth`. */
export function parseJson(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new PayloadError('body is not JSON', [], { cause });
  }
  assertJsonDepth(value, maxDepth);
  return value;
}

/**
 * A JSON body of one item or an array of them → every item parsed by `schema`, beside the items as
 * received. All-or-nothing: PayloadError('no events') for an empty array, else one with every failing
 * field (`issues[].index` in an array; a key a strict object does not know is named in the path).
 */
export function parseEach<T>(json: unknown, schema: z.ZodType<T>): { items: unknown[]; values: T[] } {
  const batch = Array.isArray(json);
  const items: unknown[] = batch ? json : [json];
  if (items.length === 0) throw new PayloadError('no events');
  const issues: PayloadIssue[] = [];
  const values: T[] = [];
  items.forEach((item, index) => {
    const parsed = schema.safeParse(item);
    if (parsed.success) values.push(parsed.data);
    else {
      for (const i of parsed.error.issues) {
        const keys = i.code === 'unrecognized_keys' ? i.keys : [undefined];
        for (const key of keys) {
          const path = [...i.path, ...(key === undefined ? [] : [key])].map(String).join('.');
          issues.push({ ...(batch ? { index } : {}), path, message: i.message });
        }
      }
    }
  });
  if (issues.length > 0) throw PayloadError.ofIssues(issues);
  return { items, values };
}

/**
 * Throws PayloadError('nested too deep', path of the first too-deep value) when an already parsed
 * JSON value nests objects/arrays deeper than `maxDepth`. Iterative: safe at any depth.
 */
export function assertJsonDepth(value: unknown, maxDepth = MAX_JSON_DEPTH): void {
  // Each value with its depth and where it sits (the path is built only for the error).
  const stack: { value: unknown; depth: number; parent?: (typeof stack)[number]; key?: string }[] = [
    { value, depth: 0 },
  ];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (typeof node.value !== 'object' || node.value === null) continue;
    const depth = node.depth + 1;
    if (depth > maxDepth) throw new PayloadError(`nested too deep (over ${maxDepth} levels)`, pathOf(node));
    for (const key of Object.keys(node.value)) {
      const child = (node.value as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth, parent: node, key });
    }
  }
}

function pathOf(node: { parent?: typeof node; key?: string }): string[] {
  const path: string[] = [];
  for (let n: typeof node | undefined = node; n?.key !== undefined; n = n.parent) path.push(n.key);
  return path.reverse();
}

/** An `application/x-www-form-urlencoded` body → its parameters, in a null-prototype object. */
export function parseForm(body: string): FormParams {
  const params: FormParams = Object.create(null);
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = params[k];
    if (prev === undefined) params[k] = v;
    else if (Array.isArray(prev))
      prev.push(v); // not a copy: thousands of repeats stay linear
    else params[k] = [prev, v];
  }
  return params;
}
