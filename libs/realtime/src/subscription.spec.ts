import { ValidationFailedError } from '@wafleet/core';
import { parseSubscribeRequest } from './subscription';

const fieldsOf = (payload: unknown): string[] => {
  try {
    parseSubscribeRequest(payload);
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
  });
});
