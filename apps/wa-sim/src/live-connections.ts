import type { SimConnection } from './sim-connection';

/**
 * Which logged-in connection speaks for each account. As on WhatsApp, an account has one live
 * connection and the newest login wins; wafleet relies on that to notice two owners of one session.
 */
export class LiveConnections {
  private readonly byPhone = new Map<string, SimConnection>();

  /**
   * Records `connection` as the account's live one. A closed connection is released synchronously as
   * it closes, so whatever is held here is still open.
   * @returns the connection it replaces, if the account had one
   */
  claim(phone: string, connection: SimConnection): SimConnection | undefined {
    const previous = this.byPhone.get(phone);
    this.byPhone.set(phone, connection);
    return previous;
  }

  find(phone: string): SimConnection | undefined {
    return this.byPhone.get(phone);
  }

  /** Forgets a closed connection, unless a newer login has already taken its place. */
  release(connection: SimConnection): void {
    const phone = String(connection.payload?.username ?? '');
    if (this.byPhone.get(phone) === connection) this.byPhone.delete(phone);
  }

  count(phone: string): number {
    return this.find(phone) ? 1 : 0;
  }
}
