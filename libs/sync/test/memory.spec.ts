import { Registry } from 'prom-client';
import { SyncBindings } from '@wafleet/sync';
import { Peers, primitivesContract } from './primitives.contract';
import { syncOptions } from './sync-options';

describe('memory binding', () => {
  let bindings: SyncBindings;
  beforeAll(async () => {
    bindings = await SyncBindings.create(syncOptions({ backend: 'memory', instanceId: 'solo' }), new Registry());
    await bindings.start();
  });
  afterAll(() => bindings.stop());

  // One process is the whole cluster: both peers are the same instance.
  primitivesContract('memory', (): Peers => ({ a: bindings, b: bindings }));
});
