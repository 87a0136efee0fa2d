import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OnCallConfigError } from '../../schemas/oncall/errors.js';
import { addressOf, parseOnCallConfig } from '../../schemas/oncall/config.js';

/** The voice channel of the on-call file: a `voice` number per person, `twilio.voice_from` as caller id. */
const demo = () => JSON.parse(readFileSync(new URL('../../infra/local/oncall/demo.json', import.meta.url), 'utf8'));

function withVoice(voiceFrom?: string) {
  const cfg = demo();
  const [id] = Object.keys(cfg.people);
  cfg.people[id].voice = '+15551239999';
  if (voiceFrom) cfg.twilio.voice_from = voiceFrom;
  else delete cfg.twilio.voice_from; // the demo file calls the payments team: take its caller id away
  const [team] = Object.keys(cfg.teams);
  cfg.teams[team].escalation.P1 = {
    levels: [{ targets: [id], channels: ['voice', 'sms'], deadline_s: 120 }],
    failover: ['voice', 'sms', 'email'],
  };
  return { cfg, id };
}

describe('on-call config: voice', () => {
  it("accepts a voice channel with a person's E.164 voice number and a caller id", () => {
    const { cfg, id } = withVoice('+15550000009');
    const parsed = parseOnCallConfig(cfg);
    expect(addressOf(parsed, id, 'voice')).toBe('+15551239999');
    expect(parsed.twilio.voice_from).toBe('+15550000009');
  });

  it('a policy paging by voice without twilio.voice_from is an error naming the path', () => {
    const { cfg } = withVoice();
    const err = (() => {
      try {
        parseOnCallConfig(cfg, 'oncall.json');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(OnCallConfigError);
    expect(String((err as Error).message)).toMatch(/twilio\.voice_from/);
  });

  it('a voice number that is not E.164 is refused', () => {
    const { cfg, id } = withVoice('+15550000009');
    cfg.people[id].voice = '555-1234';
    expect(() => parseOnCallConfig(cfg)).toThrow(/people\.[a-z0-9_.-]+\.voice/);
  });
});
