/**
 * Text a container or a webhook receiver controls (env values, labels, logs, engine messages,
 * response bodies) must never drive the operator's terminal: an ESC sequence can clear the
 * screen, retitle the window, hide lines or fake a "succeeded". Everything printed goes through
 * `visibleControls`.
 *
 * Every C0 control (U+0000-U+001F), DEL (U+007F) and C1 control (U+0080-U+009F, which includes
 * the one-byte CSI U+009B) is written as its JSON escape, `\u001b`: readable, unambiguous, and
 * JSON text stays valid JSON with the same value (JSON.stringify already escapes C0 that way, but
 * leaves DEL and C1 raw). Line feed and tab are kept only where the output is multi-line; a
 * carriage return is never kept, since it can overwrite a line that was printed.
 */

// With the bidirectional embeddings, overrides and isolates, which reorder what a reader sees
// ("Trojan Source": a name that reads as another), and the Unicode line and paragraph separators.
const everyControl = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;
const controlsButLines = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

/** `text` with its control characters made visible; `multiline` keeps \n and \t. */
export function visibleControls(text: string, multiline = false): string {
  return text.replace(
    multiline ? controlsButLines : everyControl,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
