/**
 * Argument checks both bindings run first, so a call that would fail on Redis fails the same way on
 * memory: a programming error (RangeError), never "Redis unavailable".
 */
export function wholeMs(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number of milliseconds of at least 1; got ${value}.`);
}

export function wholeNumber(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be a whole number of at least ${min}; got ${value}.`);
}
