import { describe, expect, it } from 'vitest';
import { LOCAL_PORTS, PortBaseError, derivedSettings, endpointsOf } from './ports.mjs';
import { managedProcesses, portOf, service } from './services.js';
import { stackContext } from './supervisor.js';

/** ports.mjs: what the Makefile's preload adds to the environment, and what services.ts starts with it. */
describe('derivedSettings', () => {
  it('without PORT_BASE: the default ports and the endpoints that point at them', () => {
    const d = derivedSettings({});
    expect(d.KINESIS_PORT).toBe('4567');
    expect(d.KINESIS_ENDPOINT).toBe('http://127.0.0.1:4567');
    expect(d.S3_ENDPOINT).toBe('http://127.0.0.1:4569');
    expect(d.DYNAMODB_ENDPOINT).toBe('http://127.0.0.1:4570');
    expect(d.SCHEDULER_ENDPOINT).toBe('http://127.0.0.1:4581');
    expect(d.TWILIO_API_BASE_URL).toBe('http://127.0.0.1:4580');
    expect(d.RESEND_BASE_URL).toBe('http://127.0.0.1:4580');
    expect(d.PUBLIC_BASE_URL).toBe('http://127.0.0.1:8080');
    expect([d.PORT, d.LAKE_HEALTH_PORT, d.PAGING_HEALTH_PORT]).toEqual(['8080', '8081', '8082']);
  });

  it('PORT_BASE + each offset, no two ports alike, none on the TLS port of kinesis-local (offset 1)', () => {
    const d = derivedSettings({ PORT_BASE: '30000' });
    const ports = LOCAL_PORTS.map((p) => Number(d[p.variable]));
    expect(ports).toEqual(LOCAL_PORTS.map((p) => 30000 + p.offset));
    expect(new Set(ports).size).toBe(ports.length);
    expect(ports).not.toContain(30001);
    expect(d.DYNAMODB_ENDPOINT).toBe('http://127.0.0.1:30003');
  });

  it('a port or endpoint that is set is never in the result; an empty endpoint (AWS) stays empty', () => {
    const env = { PORT_BASE: '30000', DYNAMODB_PORT: '24571', S3_ENDPOINT: '', PORT: ' 9090 ' };
    const d = derivedSettings(env);
    expect(d).not.toHaveProperty('DYNAMODB_PORT');
    expect(d).not.toHaveProperty('S3_ENDPOINT');
    expect(d).not.toHaveProperty('PORT');
    expect(d.DYNAMODB_ENDPOINT).toBe('http://127.0.0.1:24571');
    expect(d.PUBLIC_BASE_URL).toBe('http://127.0.0.1:9090');
    expect(d.S3_PORT).toBe('30002');
  });

  it('an empty port counts as unset', () => {
    expect(derivedSettings({ KINESIS_PORT: '', PORT_BASE: '' }).KINESIS_PORT).toBe('4567');
  });

  it.each(['abc', '0', '65528', '1.5', '-3'])('refuses PORT_BASE=%s', (raw) => {
    expect(() => derivedSettings({ PORT_BASE: raw })).toThrow(PortBaseError);
    expect(() => derivedSettings({ PORT_BASE: raw })).toThrow(`PORT_BASE=${raw}: expected an integer from 1 to 65527`);
  });

  it('endpointsOf names what follows a port', () => {
    expect(endpointsOf('DYNAMODB_PORT')).toEqual(['DYNAMODB_ENDPOINT']);
    expect(endpointsOf('SIMULATOR_PORT')).toEqual(['TWILIO_API_BASE_URL', 'RESEND_BASE_URL']);
    expect(endpointsOf('NOPE')).toEqual([]);
  });
});

describe('the local stack with PORT_BASE', () => {
  it('starts every process on PORT_BASE + its offset, even without the preload', () => {
    const env = { PORT_BASE: '30000', DATA_DIR: '/tmp/pagetrail-ports-test' };
    expect(portOf(service('dynamodb'), env)).toBe(30003);
    const procs = managedProcesses(stackContext(env));
    expect(Object.fromEntries(procs.map((p) => [p.name, p.port?.number]))).toEqual({
      kinesis: 30000,
      s3: 30002,
      dynamodb: 30003,
      scheduler: 30004,
      simulator: 30005,
      receiver: 30006,
      lake: 30007,
      paging: 30008,
    });
    expect(procs.find((p) => p.name === 'dynamodb')?.port?.follows).toEqual(['DYNAMODB_ENDPOINT']);
  });
});
