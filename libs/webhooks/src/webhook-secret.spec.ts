import { Webhook } from 'standardwebhooks';
import { isSecret, newSecret, signatureHeaders, webhookIdOf } from './webhook-secret';

describe('webhook secrets and signatures', () => {
  it('makes secrets Standard Webhooks libraries accept, and checks given ones', () => {
    const secret = newSecret();
    expect(isSecret(secret)).toBe(true);
    expect(secret).not.toBe(newSecret());
    expect(isSecret(`whsec_${Buffer.alloc(24, 7).toString('base64')}`)).toBe(true);
    expect(isSecret(`whsec_${Buffer.alloc(16, 7).toString('base64')}`)).toBe(false);
    expect(isSecret(`whsec_${Buffer.alloc(65, 7).toString('base64')}`)).toBe(false);
    expect(isSecret(Buffer.alloc(32, 7).toString('base64'))).toBe(false);
    expect(isSecret('whsec_not base64!')).toBe(false);
  });

  it('signs so that each secret of an overlap verifies, and no other', () => {
    const [current, previous, stranger] = [newSecret(), newSecret(), newSecret()];
    const body = JSON.stringify({ type: 'message.received', data: { seq: 1 } });
    const headers = signatureHeaders('msg_1', new Date(), body, [current, previous]);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+ v1,[A-Za-z0-9+/=]+$/);
    expect(new Webhook(current).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(stranger).verify(body, headers)).toThrow();
    expect(() => new Webhook(current).verify(`${body} `, headers)).toThrow();
  });

  it('names a delivery with a stable msg_ id', () => {
    expect(webhookIdOf('2b1c0e7a-9d3f-4e6b-8a0c-1d2e3f405162')).toBe('msg_2b1c0e7a9d3f4e6b8a0c1d2e3f405162');
  });
});
