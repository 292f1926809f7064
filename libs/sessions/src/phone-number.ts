import { ValidationFailedError } from '@wafleet/core';

const USER_JID = /^(\d+)(?::\d+)?@s\.whatsapp\.net$/;
const DECORATION = /[\s().-]/g;

/**
 * A phone number as WhatsApp wants it (country code and number, digits only), from E.164 digits with or
 * without `+` and the usual spaces, dashes, dots and parentheses, or from a user JID.
 * @throws ValidationFailedError naming `field` when it is neither
 */
export function parsePhoneNumber(input: string, field = 'phone'): string {
  const trimmed = input.trim();
  const fromJid = USER_JID.exec(trimmed)?.[1];
  const digits = fromJid ?? trimmed.replace(DECORATION, '').replace(/^\+/, '');
  if (!/^\d{7,15}$/.test(digits) || digits.startsWith('0')) {
    throw new ValidationFailedError([
      { field, problems: [`${field} must be an international number with country code (7 to 15 digits, e.g. +55 11 99999-0000) or a user JID`] },
    ]);
  }
  return digits;
}
