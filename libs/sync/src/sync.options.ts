import type { SyncConfig } from '@wafleet/config';

/** Options of SyncModule.forRoot: the sync settings of AppConfig, and who this instance is. */
export interface SyncModuleOptions extends SyncConfig {
  /** This process's id in the cluster. */
  instanceId: string;
  /** This process's version, shown in the cluster view. */
  version: string;
}
