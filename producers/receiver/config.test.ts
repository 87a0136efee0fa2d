import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../platform/config.js';
import { loadAlarmIntakeSettings, loadReceiverConfig } from './config.js';
import { TEST_ENV } from './testing.js';

const configError = (env: NodeJS.ProcessEnv): ConfigError => {
  try {
    loadReceiverConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('loadReceiverConfig', () => {
  it('parses the settings with their defaults', () => {
    const { BODY_LIMIT_BYTES: _limit, ...env } = TEST_ENV;
    expect(loadReceiverConfig(env)).toEqual({
      PUBLIC_BASE_URL: 'https://alerts.example.com',
      PORT: 8080,
      TWILIO_AUTH_TOKEN: TEST_ENV.TWILIO_AUTH_TOKEN,
      RESEND_WEBHOOK_SECRET: TEST_ENV.RESEND_WEBHOOK_SECRET,
      API_KEY: TEST_ENV.API_KEY,
      ACK_LINK_SECRET: TEST_ENV.ACK_LINK_SECRET,
      BODY_LIMIT_BYTES: 256 * 1024,
      ALARM_NAMESPACES: ['AWS/ECS', 'AWS/RDS', 'ECS/ContainerInsights'],
      SEVERITY_DEFAULT: 'P2',
      SEVERITY_MAP: {},
    });
  });

  it('reads lists, maps and numbers', () => {
    const c = loadReceiverConfig({
      ...TEST_ENV,
      PORT: '9000',
      ALARM_NAMESPACES: ' AWS/ECS , AWS/Lambda ',
      SEVERITY_DEFAULT: 'P3',
      SEVERITY_MAP: '{"api-":"P1"}',
      PUBLIC_BASE_URL: 'https://alerts.example.com/',
    });
    expect(c).toMatchObject({
      PORT: 9000,
      ALARM_NAMESPACES: ['AWS/ECS', 'AWS/Lambda'],
      SEVERITY_DEFAULT: 'P3',
      SEVERITY_MAP: { 'api-': 'P1' },
      PUBLIC_BASE_URL: 'https://alerts.example.com',
    });
  });

  it("reads the alert sources' credentials: Alertmanager tokens and Events API v2 routing keys", () => {
    const c = loadReceiverConfig({
      ...TEST_ENV,
      ALERTMANAGER_TOKENS: ' am-token-0123456789abcdef , am-token-old-0123456789ab ',
      EVENTS_V2_ROUTING_KEYS: '{"e93facc04764012d7bfb002500d5d1a6":"db","checkout-key-0123":"checkout-api"}',
    });
    expect(c.ALERTMANAGER_TOKENS).toEqual(['am-token-0123456789abcdef', 'am-token-old-0123456789ab']);
    expect(c.EVENTS_V2_ROUTING_KEYS).toEqual({
      e93facc04764012d7bfb002500d5d1a6: 'db',
      'checkout-key-0123': 'checkout-api',
    });
    for (const [name, value] of [
      ['ALERTMANAGER_TOKENS', 'short'],
      ['EVENTS_V2_ROUTING_KEYS', 'not json'],
      ['EVENTS_V2_ROUTING_KEYS', '{"e93facc04764012d7bfb002500d5d1a6":"no spaces allowed"}'],
    ]) {
      const err = configError({ ...TEST_ENV, [name]: value });
      expect(err.issues.map((i) => i.name)).toEqual([name]);
      expect(JSON.stringify(err.issues)).not.toContain(value);
    }
  });

  it('names every missing variable', () => {
    const err = configError({});
    expect(err.issues.map((i) => i.name).sort()).toEqual([
      'ACK_LINK_SECRET',
      'API_KEY',
      'PUBLIC_BASE_URL',
      'RESEND_WEBHOOK_SECRET',
      'TWILIO_AUTH_TOKEN',
    ]);
    expect(err.issues.every((i) => i.message === 'required')).toBe(true);
  });

  it.each([
    ['PUBLIC_BASE_URL', 'not a url'],
    ['PUBLIC_BASE_URL', 'ftp://alerts.example.com'],
    ['PUBLIC_BASE_URL', 'https://alerts.example.com/prefix'],
    ['RESEND_WEBHOOK_SECRET', 'whsec_!!notbase64!!'],
    ['RESEND_WEBHOOK_SECRET', 'whsec_c2hvcnQ='],
    ['API_KEY', 'short'],
    ['ACK_LINK_SECRET', 'too-short-secret'],
    ['BODY_LIMIT_BYTES', '-1'],
    ['PORT', 'eighty'],
    ['SEVERITY_DEFAULT', 'P9'],
    ['SEVERITY_MAP', '{"api-":"urgent"}'],
    ['SEVERITY_MAP', 'not json'],
  ])('rejects %s=%j, naming it and not echoing the value', (name, value) => {
    const err = configError({ ...TEST_ENV, [name]: value });
    expect(err.issues.map((i) => i.name)).toEqual([name]);
    expect(err.message).toContain(name);
    if (value.length > 6) expect(err.message).not.toContain(value);
  });

  it('never prints secret values', () => {
    const err = configError({ ...TEST_ENV, ACK_LINK_SECRET: 'short-secret-value', PUBLIC_BASE_URL: 'nope' });
    expect(err.message).not.toContain('short-secret-value');
    expect(err.message).not.toContain(TEST_ENV.TWILIO_AUTH_TOKEN);
  });

  it('the alarm settings load without any secret', () => {
    expect(loadAlarmIntakeSettings({})).toEqual({
      ALARM_NAMESPACES: ['AWS/ECS', 'AWS/RDS', 'ECS/ContainerInsights'],
      SEVERITY_DEFAULT: 'P2',
      SEVERITY_MAP: {},
    });
  });
});
