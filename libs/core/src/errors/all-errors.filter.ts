import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from './domain-error';
import { codeForStatus, ErrorBody } from './error-body';

interface FrameworkError {
  statusCode?: number;
  status?: number;
  message?: string;
}

/**
 * Maps every error to the API's error shape. Client mistakes keep their 4xx; anything unexpected is a
 * 500 that answers only an error id, while the log line carries the id, the error and its stack.
 */
@Catch()
export class AllErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const [status, body] = this.describe(exception, request);
    if (exception instanceof DomainError) for (const [name, value] of Object.entries(exception.headers)) reply.header(name, value);
    reply.status(status).send(body);
  }

  private describe(exception: unknown, request: FastifyRequest): [number, ErrorBody] {
    if (exception instanceof DomainError) {
      const error = { code: exception.code, message: exception.message, ...(exception.details === undefined ? {} : { details: exception.details }) };
      return [exception.status, { error }];
    }
    const status = this.clientStatusOf(exception);
    if (status) {
      const message =
        status === 404 && exception instanceof HttpException
          ? `No route ${request.method} ${request.url.split('?')[0]}.`
          : this.messageOf(exception);
      return [status, { error: { code: codeForStatus(status), message } }];
    }
    const errorId = randomUUID();
    this.logger.error({ err: exception, errorId, url: request.url, method: request.method }, 'Unhandled error');
    return [500, { error: { code: 'internal_error', message: 'Internal error; quote this errorId when reporting it.', errorId } }];
  }

  /** A 4xx from Nest (HttpException) or from Fastify (body parsing, size limits); undefined otherwise. */
  private clientStatusOf(exception: unknown): number | undefined {
    const status =
      exception instanceof HttpException ? exception.getStatus() : ((exception as FrameworkError)?.statusCode ?? undefined);
    return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
  }

  private messageOf(exception: unknown): string {
    if (exception instanceof HttpException) {
      const response = exception.getResponse();
      const message = typeof response === 'string' ? response : (response as { message?: unknown }).message;
      return Array.isArray(message) ? message.join('; ') : String(message ?? exception.message);
    }
    return String((exception as FrameworkError).message ?? 'Bad request');
  }
}
