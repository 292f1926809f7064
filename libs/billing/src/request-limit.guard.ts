import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { isPublicRoute, type Principal } from '@wafleet/auth';
import { ApiCallUsage } from './api-call-usage';
import { rateLimitHeaders } from './limit-headers';
import { Quotas } from './quotas.service';

interface HttpRequest {
  principal?: Principal;
}

interface HttpReply {
  header(name: string, value: string): unknown;
}

/**
 * Every request made with a tenant key counts against the plan's requests per window and answers the
 * `RateLimit-*` headers; over the limit it is a 429 before the route runs. Admin and unauthenticated
 * requests (health, metrics) pass untouched. A tenant without the limit costs no Redis call at all.
 * Requests let through are counted as the tenant's API calls.
 *
 * It needs the caller, which ApiKeyGuard sets. Nest runs global guards in the order their modules come,
 * and AppModule imports AuthModule before BillingModule. Were the two swapped, a route that needs a key
 * would find no caller here: that is a 500 naming the mistake, not a request let through unlimited. It
 * is a guard rather than an interceptor (which Nest runs after every guard, whatever their order)
 * because one interceptor makes Nest put every request through RxJS, about a twentieth of the send
 * route's CPU.
 */
@Injectable()
export class RequestLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly quotas: Quotas,
    private readonly usage: ApiCallUsage,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const principal = context.switchToHttp().getRequest<HttpRequest>().principal;
    if (!principal) {
      if (isPublicRoute(this.reflector, context)) return true;
      throw new Error('RequestLimitGuard ran before ApiKeyGuard: AppModule must import AuthModule before BillingModule');
    }
    if (principal.kind !== 'tenant') return true;
    const state = await this.quotas.takeRequest(principal.tenantId);
    if (state) {
      const reply = context.switchToHttp().getResponse<HttpReply>();
      for (const [name, value] of Object.entries(rateLimitHeaders(state))) reply.header(name, value);
    }
    this.usage.count(principal.tenantId);
    return true;
  }
}
