import { ValidationFailedError } from '@wafleet/core';
import { parsePhoneNumber } from '@wafleet/sessions';

const USER_JID = /^(\d{5,20})(?::\d+)?@s\.whatsapp\.net$/;
const GROUP_JID = /^\d{5,20}(-\d{5,20})?@g\.us$/;
const LID_JID = /^\d{5,20}(?::\d+)?@lid$/;

/**
 * The chat JID for what a request names: a user JID (its device part dropped), a group or lid JID as
 * given, or a phone number.
 * @throws ValidationFailedError naming `field`
 */
export function toChatJid(input: string, field: string): string {
  const trimmed = input.trim();
  const user = USER_JID.exec(trimmed)?.[1];
  if (user) return `${user}@s.whatsapp.net`;
  if (GROUP_JID.test(trimmed)) return trimmed;
  if (LID_JID.test(trimmed)) return trimmed.replace(/:\d+@/, '@');
  if (trimmed.includes('@')) {
    throw new ValidationFailedError([{ field, problems: [`${field} is not a WhatsApp JID (…@s.whatsapp.net, …@g.us or …@lid)`] }]);
  }
  return `${parsePhoneNumber(trimmed, field)}@s.whatsapp.net`;
}
