/** A JSON answer: status, headers and the parsed body (undefined when empty). */
export interface Answer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** Calls the API with an optional key; JSON in, JSON out. */
export async function call<T = any>(
  url: string,
  options: { method?: string; key?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers['x-api-key'] = options.key;
  if (options.body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(url, {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
  });
  const text = await response.text();
  const isJson = (response.headers.get('content-type') ?? '').includes('json');
  return { status: response.status, headers: response.headers, body: (text && isJson ? JSON.parse(text) : text || undefined) as T };
}
