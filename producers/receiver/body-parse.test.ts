import { describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { MAX_JSON_DEPTH, assertJsonDepth, parseForm, parseJson } from './body-parse.js';
import { PayloadError } from './errors.js';
import { thrown } from './testing.js';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('parseJson', () => {
  it('parses JSON up to MAX_JSON_DEPTH levels', () => {
    expect(parseJson('{"a":[1,{"b":null}]}')).toEqual({ a: [1, { b: null }] });
    expect(() => parseJson(nested(MAX_JSON_DEPTH))).not.toThrow();
  });

  it('refuses deeper nesting with a PayloadError naming the path, at any depth (no stack overflow)', () => {
    for (const depth of [MAX_JSON_DEPTH + 1, 5_000, 200_000]) {
      const err = thrown(() => parseJson(nested(depth)));
      expect(err).toBeInstanceOf(PayloadError);
      expect((err as PayloadError).reason).toBe(`nested too deep (over ${MAX_JSON_DEPTH} levels)`);
    }
    const err = thrown(() => parseJson(`{"detail":{"x":${'{"a":'.repeat(70)}1${'}'.repeat(70)}}}`)) as PayloadError;
    expect(err.path).toBe(['detail', 'x', ...Array(MAX_JSON_DEPTH - 2).fill('a')].join('.'));
  });

  it('not JSON → PayloadError "body is not JSON"', () => {
    expect((thrown(() => parseJson('{"a":')) as PayloadError).reason).toBe('body is not JSON');
  });

  it('assertJsonDepth takes a custom bound', () => {
    expect(() => assertJsonDepth({ a: { b: {} } }, 3)).not.toThrow();
    expect(() => assertJsonDepth({ a: { b: { c: {} } } }, 3)).toThrow('nested too deep');
  });
});

describe('parseForm', () => {
  it('__proto__, constructor and prototype are plain parameters (null prototype)', () => {
    const params = parseForm('a=1&__proto__=x&constructor=y&prototype=z&a=2');
    expect(Object.getPrototypeOf(params)).toBeNull();
    expect(Object.keys(params).sort()).toEqual(['__proto__', 'a', 'constructor', 'prototype']);
    expect(params.__proto__).toBe('x');
    expect(params.a).toEqual(['1', '2']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('the Twilio signature covers them like any parameter', () => {
    const url = 'https://alerts.example.com/webhooks/twilio';
    const signedWithout = twilio.getExpectedTwilioSignature('token', url, parseForm('MessageSid=SM1'));
    expect(twilio.validateRequest('token', signedWithout, url, parseForm('MessageSid=SM1&__proto__=x'))).toBe(false);
    const signedWith = twilio.getExpectedTwilioSignature('token', url, parseForm('MessageSid=SM1&__proto__=x'));
    expect(twilio.validateRequest('token', signedWith, url, parseForm('MessageSid=SM1&__proto__=x'))).toBe(true);
  });

  it('thousands of repeats of one field stay linear', () => {
    const started = performance.now();
    const params = parseForm('a=1&'.repeat(60_000));
    expect((params.a as string[]).length).toBe(60_000);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
