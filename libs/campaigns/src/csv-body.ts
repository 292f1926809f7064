/** The part of Fastify this needs: registering a content-type parser. */
interface ContentTypeParsers {
  addContentTypeParser(
    type: string,
    options: { parseAs: 'string'; bodyLimit?: number },
    parser: (request: { routeOptions?: { url?: string } }, body: string, done: (error: Error | null, body?: unknown) => void) => void,
  ): void;
}

/** The one route that takes a CSV body. */
export const CSV_ROUTE = '/campaigns/:id/recipients';

/**
 * Accepts `text/csv` bodies, handed over as a string, on the campaign recipients route only: everywhere
 * else the API stays JSON-only, and a CSV body gets 415 as any other non-JSON body does.
 */
export function acceptCsvUploads(fastify: ContentTypeParsers): void {
  fastify.addContentTypeParser('text/csv', { parseAs: 'string' }, (request, body, done) => {
    if (request.routeOptions?.url !== CSV_ROUTE) {
      const error = Object.assign(new Error('Unsupported Media Type: text/csv'), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' });
      return done(error);
    }
    done(null, body);
  });
}
