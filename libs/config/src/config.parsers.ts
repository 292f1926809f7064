// How each kind of setting is read: a parser answers the value, or undefined when the raw text is not accepted.

export const wholeNumber = (min: number, max: number) => (raw: string) => {
  if (!/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= min && n <= max ? n : undefined;
};
export const oneOf = (...values: string[]) => (raw: string) => (values.includes(raw) ? raw : undefined);
export const text = (pattern: RegExp) => (raw: string) => (pattern.test(raw) ? raw : undefined);
export const urlWithScheme = (...schemes: string[]) => (raw: string) => {
  try {
    return schemes.includes(new URL(raw).protocol.replace(/:$/, '')) ? raw : undefined;
  } catch {
    return undefined;
  }
};
export const boolean = (raw: string) => ({ true: true, false: false })[raw as 'true' | 'false'];

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** A comma-separated list of durations (`200ms`, `5s`, `5m`, `2h`, or bare milliseconds), each within bounds. */
export const durationList = (minMs: number, maxMs: number, maxItems: number) => (raw: string) => {
  const items = raw.split(',').map((item) => /^(\d+)(ms|s|m|h)?$/.exec(item.trim()));
  if (items.length > maxItems || items.some((match) => !match)) return undefined;
  const values = items.map((match) => Number(match![1]) * DURATION_UNITS_MS[match![2] ?? 'ms']!);
  return values.every((ms) => ms >= minMs && ms <= maxMs) ? values : undefined;
};
