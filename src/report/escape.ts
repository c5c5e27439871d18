/**
 * Escaping for the reports. Almost every string in a report comes from the container or the
 * engine (names, env values, image, mount paths, engine messages, notes) or from a bundle that
 * anyone may have made (`firebreak report FILE`), so each one is text, never structure: no HTML
 * tag, no Markdown link or image (an image is a request to an address of the attacker's choosing
 * when the ticket renders it), no broken table, no code span that ends early, and no control or
 * bidirectional character that a terminal obeys or that reorders what a reader sees.
 */
import { visibleControls } from '../controls.js';

/** Control and bidi characters written as their JSON escapes (`\u001b`), readable and unambiguous. */
export function visible(text: string): string {
  return visibleControls(String(text));
}

/** Text as it goes into HTML, between tags or inside a quoted attribute. */
export function htmlText(text: string): string {
  return visible(String(text).replace(/\r\n?|\n/g, ' ')).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/**
 * Markdown text on one line (a table cell, a heading, a sentence). A backslash escapes what
 * Markdown reads as structure: `\` first, then the pipe (a table cell), brackets (links and
 * images), backticks (code spans), `*` and `~` (emphasis, strikethrough); `<` becomes `&lt;`, so
 * no raw HTML or autolink (`>` alone starts nothing inside a line, and `->` stays readable). A
 * line break would end the table row: it becomes a space.
 */
export function markdownText(text: string): string {
  return visible(String(text).replace(/\r\n?|\n/g, ' '))
    .replace(/[\\|[\]`*~]/g, (c) => `\\${c}`)
    .replace(/</g, '&lt;');
}

/**
 * A value shown exactly, as a code span: fenced by one backtick more than the longest run of
 * backticks inside it, so none of them can close it, and padded when it starts or ends with one.
 * In a table a pipe still ends the cell, even inside a code span, so it is escaped there (GFM
 * renders `\|` as `|` in a code span in a table).
 */
export function markdownCode(text: string, inTable = true): string {
  if (text === '' || text === undefined || text === null) return '';
  let body = visible(String(text).replace(/\r\n?|\n/g, ' '));
  if (inTable) body = body.replace(/\|/g, '\\|');
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = body.startsWith('`') || body.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}
