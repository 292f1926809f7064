import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import { HANDOFF_REASONS, type HandoffReason } from './session-handoffs';
import type { LeaseLoss } from './session-leases';

/** What this replica's leases do: held now, claims won and lost, renewals failed, leases lost, handoffs in. */
@Injectable()
export class SessionLeaseMetrics {
  private readonly claims: Counter<'result'>;
  readonly renewFailures: Counter;
  private readonly lost: Counter<'loss'>;
  private readonly handoffs: Counter<'reason'>;
  private readonly selfFences: Counter;
  private heldCount: () => number = () => 0;

  constructor(registry: Registry) {
    const registers = [registry];
    const count = () => this.heldCount();
    // Registered for its collect(); nothing else reads it.
    new Gauge({
      name: 'session_leases_held',
      help: 'Session leases this instance holds.',
      registers,
      collect() {
        this.set(count());
      },
    });
    this.claims = new Counter({ name: 'session_lease_claims_total', help: 'Lease claims, by result: won, or lost to a live owner.', labelNames: ['result'], registers });
    this.renewFailures = new Counter({ name: 'session_lease_renew_failures_total', help: 'Lease renewals that failed (database unreachable or slow).', registers });
    this.lost = new Counter({ name: 'session_leases_lost_total', help: 'Held leases lost, by loss: taken by another instance, or self_fenced.', labelNames: ['loss'], registers });
    this.handoffs = new Counter({ name: 'session_handoffs_total', help: 'Sessions this instance claimed from another owner or from none, by reason.', labelNames: ['reason'], registers });
    this.selfFences = new Counter({ name: 'session_lease_self_fences_total', help: 'Times this instance stopped its sessions because it could not renew in time.', registers });
    for (const result of ['won', 'lost']) this.claims.inc({ result }, 0);
    for (const loss of ['taken', 'self_fenced']) this.lost.inc({ loss }, 0);
    for (const reason of HANDOFF_REASONS) this.handoffs.inc({ reason }, 0);
  }

  /** Where the gauge reads the number of leases held at each scrape. */
  observeHeld(count: () => number): void {
    this.heldCount = count;
  }

  claimed(row: { handoff: HandoffReason | null } | undefined): void {
    this.claims.inc({ result: row ? 'won' : 'lost' });
    if (row?.handoff) this.handoffs.inc({ reason: row.handoff });
  }

  leaseLost(loss: LeaseLoss, count = 1): void {
    if (count > 0) this.lost.inc({ loss }, count);
  }

  selfFenced(leases: number): void {
    this.selfFences.inc();
    this.leaseLost('self_fenced', leases);
  }
}
