import { ValidationFailedError } from '@wafleet/core';
import { parseSubscribeRequest, parseUnsubscribeRequest } from './subscription';

const fieldsOf = (payload: unknown, parse: (payload: unknown) => unknown = parseSubscribeRequest): string[] => {
  try {
    parse(payload);
    return [];
  } catch (error) {
    if (!(error instanceof ValidationFailedError)) throw error;
    return (error.details as Array<{ field: string }>).map((problem) => problem.field);
  }
};

describe('parseSubscribeRequest', () => {
  it('takes nothing (the whole tenant), sessions by id or name, and seqs to replay after', () => {
    expect(parseSubscribeRequest(undefined)).toEqual({});
    expect(parseSubscribeRequest({})).toEqual({});
    expect(parseSubscribeRequest({ sessions: ['sales', 'sales', 'support'], afterSeq: { sales: 0, support: 12 } })).toEqual({
      sessions: ['sales', 'support'],
      afterSeq: { sales: 0, support: 12 },
    });
  });

  it('names each bad field', () => {
    expect(fieldsOf('sales')).toEqual(['subscribe']);
    expect(fieldsOf({ sessions: 'sales' })).toEqual(['sessions']);
    expect(fieldsOf({ sessions: [] })).toEqual(['sessions']);
    expect(fieldsOf({ sessions: [''] })).toEqual(['sessions']);
    expect(fieldsOf({ afterSeq: [1] })).toEqual(['afterSeq']);
    expect(fieldsOf({ afterSeq: { sales: -1, support: '3', ok: 2, half: 1.5 } })).toEqual(['afterSeq.sales', 'afterSeq.support', 'afterSeq.half']);
    expect(fieldsOf({ session: ['sales'] })).toEqual(['session']);
    expect(fieldsOf({ sessions: ['sa\u0000les'] })).toEqual(['sessions']);
    expect(fieldsOf({ afterSeq: { 'sa\u0000les': 1 } })).toEqual(['afterSeq.sa\u0000les']);
  });
});

describe('parseUnsubscribeRequest', () => {
  it('takes nothing (everything) or sessions by id or name, and names each bad field', () => {
    expect(parseUnsubscribeRequest(undefined)).toEqual({});
    expect(parseUnsubscribeRequest({})).toEqual({});
    expect(parseUnsubscribeRequest({ sessions: ['sales', 'sales', 'support'] })).toEqual({ sessions: ['sales', 'support'] });
    expect(fieldsOf('sales', parseUnsubscribeRequest)).toEqual(['unsubscribe']);
    expect(fieldsOf({ sessions: [] }, parseUnsubscribeRequest)).toEqual(['sessions']);
    expect(fieldsOf({ sessions: ['x'], afterSeq: { x: 1 } }, parseUnsubscribeRequest)).toEqual(['afterSeq']);
  });
});
