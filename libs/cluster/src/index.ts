export { ClusterModule } from './cluster.module';
export type { ClusterView } from './cluster.service';
export type { ClusterInstanceView, ClusterSessionView, HandoffView } from './cluster.view';
