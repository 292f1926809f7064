import type { DesiredState, Session, SessionMe, SessionStatus } from './session.entity';

/** A session as the API shows it. */
export interface SessionView {
  id: string;
  name: string;
  status: SessionStatus;
  desiredState: DesiredState;
  me: SessionMe | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

export const toSessionView = (s: Session): SessionView => ({
  id: s.id,
  name: s.name,
  status: s.status,
  desiredState: s.desiredState,
  me: s.me,
  metadata: s.metadata,
  createdAt: s.createdAt,
  updatedAt: s.updatedAt,
});
