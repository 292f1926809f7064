import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Principal } from '@wafleet/auth';
import type { Observable } from 'rxjs';
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
 * `RateLimit-*` headers; over the limit it is a 429 before the route runs. An interceptor rather than a
 * guard because Nest runs interceptors after every guard, so the caller is known (ApiKeyGuard set it);
 * admin and unauthenticated requests (health, metrics) pass untouched. A tenant without the limit costs
 * no Redis call at all. Requests let through are counted as the tenant's API calls.
 */
@Injectable()
export class RequestLimitInterceptor implements NestInterceptor {
  constructor(
    private readonly quotas: Quotas,
    private readonly usage: ApiCallUsage,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const principal = context.switchToHttp().getRequest<HttpRequest>().principal;
    if (principal?.kind !== 'tenant') return next.handle();
    const state = await this.quotas.takeRequest(principal.tenantId);
    if (state) {
      const reply = context.switchToHttp().getResponse<HttpReply>();
      for (const [name, value] of Object.entries(rateLimitHeaders(state))) reply.header(name, value);
    }
    this.usage.count(principal.tenantId);
    return next.handle();
  }
}
