import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import type { EventSource } from './session-event-stream';

/**
 * What this replica's Socket.IO does: clients connected, connections refused, events sent. Events sent
 * from the log beyond replays asked for mean live delivery lost some (Redis pub/sub is at-most-once).
 */
@Injectable()
export class RealtimeMetrics {
  private readonly sent: Counter<'source'>;
  private readonly refused: Counter<'code'>;
  private connectedCount: () => number = () => 0;

  constructor(registry: Registry) {
    const registers = [registry];
    const count = () => this.connectedCount();
    // Registered for its collect(); nothing else reads it.
    new Gauge({
      name: 'realtime_connections',
      help: 'Socket.IO clients connected to this instance on /events.',
      registers,
      collect() {
        this.set(count());
      },
    });
    this.sent = new Counter({ name: 'realtime_events_sent_total', help: 'Events sent to clients, by source: live, or read from the log (replays and gaps filled).', labelNames: ['source'], registers });
    this.refused = new Counter({ name: 'realtime_connections_refused_total', help: 'Socket.IO connections refused at the handshake, by error code.', labelNames: ['code'], registers });
    for (const source of ['live', 'log']) this.sent.inc({ source }, 0);
  }

  /** Where the gauge reads the number of connected clients at each scrape. */
  observeConnected(count: () => number): void {
    this.connectedCount = count;
  }

  eventSent(source: EventSource): void {
    this.sent.inc({ source });
  }

  connectionRefused(code: string): void {
    this.refused.inc({ code });
  }
}
