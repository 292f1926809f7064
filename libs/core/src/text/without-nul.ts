/**
 * `value` with every U+0000 in its strings and keys replaced by U+FFFD, for what WhatsApp sends and
 * wafleet must keep: PostgreSQL's text and jsonb cannot hold a NUL, and refusing the write would lose it.
 * JSON-shaped values only.
 */
export function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return (value.includes('\u0000') ? value.replaceAll('\u0000', '\ufffd') : value) as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [withoutNul(key), withoutNul(child)])) as T;
}
