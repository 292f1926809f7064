import { Module } from '@nestjs/common';
import { ClusterController } from './cluster.controller';
import { ClusterService } from './cluster.service';

/**
 * GET /cluster: instances, leases and handoffs. Needs the Cluster port (SyncModule), the DataSource and
 * AppConfig from the root; the global ApiKeyGuard enforces @AdminOnly().
 */
@Module({ controllers: [ClusterController], providers: [ClusterService] })
export class ClusterModule {}
