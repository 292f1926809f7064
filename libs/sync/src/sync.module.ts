import { ConfigurableModuleBuilder, Module } from '@nestjs/common';
import { Registry } from 'prom-client';
import { SyncBindings } from './sync.bindings';
import type { SyncModuleOptions } from './sync.options';
import { Bus, Cache, Cluster, Counters, Lock, PubSub, Rendezvous } from './sync.ports';

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } = new ConfigurableModuleBuilder<SyncModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

const PORTS = [Lock, PubSub, Counters, Cache, Rendezvous, Bus, Cluster] as const;
const binding = (port: (typeof PORTS)[number]) => {
  const name = port.name.charAt(0).toLowerCase() + port.name.slice(1);
  return { provide: port, inject: [SyncBindings], useFactory: (bindings: SyncBindings) => bindings[name as keyof SyncBindings] };
};

/**
 * The coordination primitives. Reads the backend from its options and binds each abstract class to its
 * memory or Redis implementation; domain code injects the abstract classes and never sees which.
 */
@Module({
  providers: [
    {
      provide: SyncBindings,
      inject: [MODULE_OPTIONS_TOKEN, Registry],
      useFactory: (options: SyncModuleOptions, registry: Registry) => SyncBindings.create(options, registry),
    },
    ...PORTS.map(binding),
  ],
  exports: [SyncBindings, ...PORTS],
})
export class SyncModule extends ConfigurableModuleClass {}
