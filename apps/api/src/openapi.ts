import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** Swagger UI at /docs and the OpenAPI document at /docs/openapi.json; both public, like any API reference. */
export function serveOpenApi(app: INestApplication, version: string): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('wafleet')
      .setDescription(
        'Self-hosted WhatsApp-session API. Every route except /health* needs an `X-API-Key`; errors are `{ "error": { "code", "message", "details"? } }`.',
      )
      .setVersion(version)
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The admin key or a tenant key.' }, 'api-key')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'METRICS_API_KEY, for /metrics only.' }, 'metrics-key')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json', yamlDocumentUrl: 'docs/openapi.yaml' });
}
