import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../test/helpers/local-stack.js';
import { DispatchLedger } from './ledger.js';

/** The dispatch ledger on dynalite: a step is sent at most once, whatever restarts and replays do. */
let stack: LocalStack;
let ledger: DispatchLedger;

beforeAll(async () => {
  stack = await startLocalStack({ shards: 1 });
  ledger = new DispatchLedger(stack.clients.dynamodb, stack.config.LEDGER_TABLE);
});
afterAll(async () => stack?.stop());

describe('DispatchLedger', () => {
  it('claims a step once; a second claim (restart, replay) sees the first', async () => {
    expect(await ledger.claim('inc_1|L1|alice|sms')).toEqual({ claimed: true });
    const again = await ledger.claim('inc_1|L1|alice|sms');
    expect(again).toMatchObject({ claimed: false, state: 'claimed' });
  });

  it('hands back the completed step record, so a restart re-reports it instead of resending', async () => {
    await ledger.claim('inc_1|L1|alice|email');
    await ledger.complete('inc_1|L1|alice|email', { record: '{"kind":"dispatch","message_id":"re_1"}' });
    expect(await ledger.claim('inc_1|L1|alice|email')).toMatchObject({
      claimed: false,
      state: 'done',
      result: { record: '{"kind":"dispatch","message_id":"re_1"}' },
    });
  });

  it('lets exactly one of several racing workers claim a step', async () => {
    const claims = await Promise.all(Array.from({ length: 6 }, () => ledger.claim('inc_2|L1|bob|sms')));
    expect(claims.filter((c) => c.claimed)).toHaveLength(1);
  });

  it('records the result of a step its decision claimed (no ledger claim), readable by result()', async () => {
    expect(await ledger.result('inc_3|L1|carol|sms')).toBeUndefined();
    await ledger.complete('inc_3|L1|carol|sms', { record: '{"message_id":"SM1"}' });
    expect(await ledger.result('inc_3|L1|carol|sms')).toEqual({ record: '{"message_id":"SM1"}' });
    // a claim after it finds it done: the step is never sent by the ledger path either
    expect(await ledger.claim('inc_3|L1|carol|sms')).toMatchObject({ claimed: false, state: 'done' });
  });
});
