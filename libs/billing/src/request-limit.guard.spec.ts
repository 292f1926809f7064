import { Controller, Get } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { Public, type Principal } from '@wafleet/auth';
import type { ApiCallUsage } from './api-call-usage';
import type { LimitState } from './limit-headers';
import type { Quotas } from './quotas.service';
import { RequestLimitGuard } from './request-limit.guard';

@Controller()
class Routes {
  @Get('sessions')
  sessions() {}

  @Public()
  @Get('health')
  health() {}
}

/** What the guard was asked to do: requests taken, calls counted, headers set. */
function guardWith(state: LimitState | null) {
  const taken: string[] = [];
  const counted: string[] = [];
  const quotas = { takeRequest: async (tenantId: string) => (taken.push(tenantId), state) } as unknown as Quotas;
  const usage = { count: (tenantId: string) => void counted.push(tenantId) } as unknown as ApiCallUsage;
  return { guard: new RequestLimitGuard(new Reflector(), quotas, usage), taken, counted };
}

function contextOf(handler: keyof Routes, principal?: Principal) {
  const headers: Record<string, string> = {};
  const reply = { header: (name: string, value: string) => void (headers[name] = value) };
  const context = new ExecutionContextHost([{ principal }, reply], Routes, Routes.prototype[handler]);
  context.setType('http');
  return { context, headers };
}

describe('RequestLimitGuard', () => {
  it("takes one request of a tenant's limit, answers its headers and counts the call", async () => {
    const { guard, taken, counted } = guardWith({ limit: 10, remaining: 7, resetMs: 1_500 });
    const { context, headers } = contextOf('sessions', { kind: 'tenant', tenantId: 't1', keyId: 'k1' });
    await expect(guard.canActivate(context)).resolves.toBe(true);
    expect(taken).toEqual(['t1']);
    expect(counted).toEqual(['t1']);
    expect(headers).toEqual({ 'RateLimit-Limit': '10', 'RateLimit-Remaining': '7', 'RateLimit-Reset': '2' });
  });

  it('sets no headers for a tenant without a limit, and still counts the call', async () => {
    const { guard, counted } = guardWith(null);
    const { context, headers } = contextOf('sessions', { kind: 'tenant', tenantId: 't1', keyId: 'k1' });
    await expect(guard.canActivate(context)).resolves.toBe(true);
    expect(headers).toEqual({});
    expect(counted).toEqual(['t1']);
  });

  it('lets the admin and public routes through untouched', async () => {
    const { guard, taken, counted } = guardWith({ limit: 10, remaining: 7, resetMs: 1_500 });
    await expect(guard.canActivate(contextOf('sessions', { kind: 'admin' }).context)).resolves.toBe(true);
    await expect(guard.canActivate(contextOf('health').context)).resolves.toBe(true);
    expect(taken).toEqual([]);
    expect(counted).toEqual([]);
  });

  it('refuses to let a route that needs a key through unlimited when no caller was found before it', async () => {
    const { guard, taken } = guardWith({ limit: 10, remaining: 7, resetMs: 1_500 });
    await expect(guard.canActivate(contextOf('sessions').context)).rejects.toThrow(/before ApiKeyGuard/);
    expect(taken).toEqual([]);
  });
});
