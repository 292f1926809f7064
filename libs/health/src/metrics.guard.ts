import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { AdminKey, keyMatches, hashKey } from '@wafleet/auth';
import { AppConfig } from '@wafleet/config';
import { UnauthorizedError } from '@wafleet/core';

class MetricsKeyError extends UnauthorizedError {
  constructor() {
    super('metrics_key_invalid', 'Send METRICS_API_KEY as "Authorization: Bearer <key>", or the admin key as X-API-Key.');
  }
}

/** /metrics is read by scrapers: `Authorization: Bearer METRICS_API_KEY`, or the admin key. */
@Injectable()
export class MetricsGuard implements CanActivate {
  private readonly metricsKeyHash?: Buffer;

  constructor(
    private readonly adminKey: AdminKey,
    config: AppConfig,
  ) {
    this.metricsKeyHash = config.metrics.apiKey ? hashKey(config.metrics.apiKey) : undefined;
  }

  canActivate(context: ExecutionContext): boolean {
    const headers = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers;
    const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
    const candidates = [bearer, headers['x-api-key']].filter((key): key is string => !!key);
    const allowed = candidates.some(
      (key) => this.adminKey.matches(key) || (this.metricsKeyHash !== undefined && keyMatches(key, this.metricsKeyHash)),
    );
    if (!allowed) throw new MetricsKeyError();
    return true;
  }
}
