import { ValidationFailedError } from '@wafleet/core';
import { toChatJid } from '@wafleet/messages';
import { CsvError, parse } from 'csv-parse/sync';
import { missingVariables } from './campaign-template';

/** One recipient as given: where it came from (CSV line, or index in the JSON list), its phone and variables. */
export interface GivenRecipient {
  row: number;
  phone: string;
  variables: Record<string, unknown>;
}

/** A recipient that can be sent to: its chat JID and its variables as text. */
export interface CheckedRecipient {
  jid: string;
  variables: Record<string, string>;
}

export interface InvalidRecipient {
  row: number;
  phone: string;
  problem: string;
}

/** What became of a list of recipients: how many were added, how many were already there, which were refused. */
export interface RecipientReport {
  accepted: number;
  duplicates: number;
  invalid: InvalidRecipient[];
}

/**
 * Checks each recipient: a phone the messages API accepts (E.164 digits or a JID) and every variable the
 * template uses. A recipient whose JID came earlier in the list is a duplicate, counted and dropped.
 */
export function checkRecipients(given: readonly GivenRecipient[], used: readonly string[]): { recipients: CheckedRecipient[]; duplicates: number; invalid: InvalidRecipient[] } {
  const seen = new Set<string>();
  const recipients: CheckedRecipient[] = [];
  const invalid: InvalidRecipient[] = [];
  let duplicates = 0;
  for (const { row, phone, variables } of given) {
    const problem = (text: string) => invalid.push({ row, phone: String(phone ?? ''), problem: text });
    if (typeof phone !== 'string' || !phone.trim()) {
      problem('phone is missing');
      continue;
    }
    let jid: string;
    try {
      jid = toChatJid(phone, 'phone');
    } catch (error) {
      problem(error instanceof ValidationFailedError ? (error.details as { problems: string[] }[])[0]!.problems[0]! : 'phone is not valid');
      continue;
    }
    const text: Record<string, string> = {};
    const bad = Object.entries(variables ?? {}).find(([, value]) => !['string', 'number', 'boolean'].includes(typeof value));
    if (bad) {
      problem(`variable ${bad[0]} must be text, a number or a boolean`);
      continue;
    }
    for (const [name, value] of Object.entries(variables ?? {})) text[name] = String(value);
    const missing = missingVariables(used, text);
    if (missing.length) {
      problem(`missing ${missing.length === 1 ? 'variable' : 'variables'} ${missing.join(', ')}, which the template uses`);
      continue;
    }
    if (seen.has(jid)) {
      duplicates++;
      continue;
    }
    seen.add(jid);
    recipients.push({ jid, variables: text });
  }
  return { recipients, duplicates, invalid };
}

/**
 * Reads a CSV upload: a header row with a `phone` column and one column per variable, then one recipient
 * per line (`row` is its line number, the header being line 1). A line with another number of fields than
 * the header becomes an invalid recipient; a file that is not CSV at all is a 400 on `body`.
 */
export function parseRecipientCsv(csv: string): { given: GivenRecipient[]; invalid: InvalidRecipient[] } {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(csv, { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true }) as unknown as typeof records;
  } catch (error) {
    const message = error instanceof CsvError ? error.message : String(error);
    throw new ValidationFailedError([{ field: 'body', problems: [`the CSV cannot be read: ${message}`] }]);
  }
  const [header, ...rows] = records;
  const columns = header?.record.map((name) => name.trim()) ?? [];
  const phoneAt = columns.findIndex((name) => name.toLowerCase() === 'phone');
  if (phoneAt < 0) throw new ValidationFailedError([{ field: 'body', problems: ['the CSV needs a header row with a phone column, e.g. phone,name'] }]);
  const given: GivenRecipient[] = [];
  const invalid: InvalidRecipient[] = [];
  for (const { record, info } of rows) {
    const phone = record[phoneAt] ?? '';
    if (record.length !== columns.length) {
      invalid.push({ row: info.lines, phone, problem: `has ${record.length} fields, the header has ${columns.length}` });
      continue;
    }
    const variables: Record<string, string> = {};
    columns.forEach((name, i) => i !== phoneAt && name && (variables[name] = record[i]!));
    given.push({ row: info.lines, phone, variables });
  }
  return { given, invalid };
}
