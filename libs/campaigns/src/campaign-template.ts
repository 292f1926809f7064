/** `{{name}}`, with optional spaces inside the braces; names are letters, digits, `_`, `.` and `-`. */
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/** The variables a template uses, each once, in order of first use. */
export function templateVariables(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((match) => match[1]!))];
}

/** The variables of `used` that `variables` lacks (an empty string counts as given). */
export function missingVariables(used: readonly string[], variables: Record<string, string>): string[] {
  return used.filter((name) => !Object.prototype.hasOwnProperty.call(variables, name));
}

/**
 * The text with each `{{name}}` replaced by the recipient's value. Values are inserted as they are and
 * never read as placeholders themselves. A name the recipient lacks stays as written: recipients are
 * checked against the template when they are added, so that only happens to text added later.
 */
export function renderTemplate(text: string, variables: Record<string, string>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => (Object.prototype.hasOwnProperty.call(variables, name) ? variables[name]! : whole));
}
