import { isPublicAddress, nonPublicAddressOf } from './public-address';

describe('isPublicAddress', () => {
  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'not-an-ip'])(
    'refuses %s',
    (address) => expect(isPublicAddress(address)).toBe(false),
  );

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '193.0.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8'])('accepts %s', (address) =>
    expect(isPublicAddress(address)).toBe(true),
  );
});

describe('nonPublicAddressOf', () => {
  it('names the loopback address localhost resolves to, and passes a public literal', async () => {
    expect(await nonPublicAddressOf('localhost')).toMatch(/^(127\.|::1$)/);
    expect(await nonPublicAddressOf('[::1]')).toBe('::1');
    expect(await nonPublicAddressOf('8.8.8.8')).toBeUndefined();
  });
});
