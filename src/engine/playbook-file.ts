import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { ParsedYaml } from './yaml-location.js';
import { formatYamlPath } from './yaml-location.js';

/**
 * The limits a playbook file meets before the loader builds anything from it. Playbooks are a few
 * kilobytes and a few dozen steps; a 50 MB file once grew Node to 4.3 GB, and tens of thousands of
 * steps take minutes to check. Past these limits the file is the wrong file, or an attack.
 */
export const maxPlaybookBytes = 1024 * 1024;
/** Steps in all, those inside groups and under on-failure included. */
export const maxSteps = 1000;

const tooManySteps = `a playbook has at most ${maxSteps} steps, counting those in groups and on-failure: split it`;

/** The file's text, or a one-line usage error naming the file: a folder, no permission, too large, binary. */
export function readPlaybookFile(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new UsageError(`${file}: cannot read the playbook: ${reasonOf(error)}`);
  }
  try {
    if (fstatSync(fd).isDirectory()) throw new UsageError(`${file}: is a directory, not a playbook file`);
    // Read in pieces up to one byte over the cap: /dev/zero or a pipe has no size to check first.
    const buffer = Buffer.alloc(maxPlaybookBytes + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < buffer.length; length += n) {
      n = readSyncOrFail(fd, buffer, length, file);
    }
    if (length > maxPlaybookBytes)
      throw new UsageError(`${file}: larger than ${maxPlaybookBytes / 1024 / 1024} MiB: not a playbook`);
    return decode(buffer.subarray(0, length), file);
  } finally {
    closeSync(fd);
  }
}

function decode(bytes: Buffer, file: string): string {
  // Editors on Windows save "Unicode" as UTF-16, whose NUL bytes would otherwise read as binary.
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new UsageError(`${file}: UTF-16 text: save the playbook as UTF-8`);
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new UsageError(`${file}: binary data (a NUL byte at offset ${nul}): not a playbook`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${file}: not UTF-8 text: not a playbook`);
  }
}

/**
 * Before parsing: the `uses:` keys at the start of a line, as steps are written in block style. A
 * step list over the limit is refused here without building a YAML tree of it; flow style and
 * aliases are counted after parsing, by checkStepCount.
 */
export function checkStepCountInText(text: string, file: string): void {
  const uses = /^[ \t]*(?:-[ \t]+)*["']?uses["']?[ \t]*:/gm;
  let count = 0;
  for (let match = uses.exec(text); match; match = uses.exec(text)) {
    if (++count > maxSteps) {
      const line = text.slice(0, match.index).split('\n').length;
      throw new UsageError(`${file}:${line}: step ${count}: ${tooManySteps}`);
    }
  }
}

/** After parsing, before the schema: every step list, through groups and aliases, stopping at the first step over. */
export function checkStepCount(yaml: ParsedYaml): void {
  const top = yaml.value as Record<string, unknown>;
  let count = 0;
  const visit = (list: unknown, path: PropertyKey[]): void => {
    if (!Array.isArray(list)) return;
    list.forEach((step: unknown, i) => {
      if (++count > maxSteps) {
        const at = [...path, i];
        throw new UsageError(`${yaml.locate(at)}: ${formatYamlPath(at)}: step ${count}: ${tooManySteps}`);
      }
      if (step && typeof step === 'object' && !Array.isArray(step))
        visit((step as Record<string, unknown>).steps, [...path, i, 'steps']);
    });
  };
  visit(top.steps, ['steps']);
  visit(top['on-failure'], ['on-failure']);
}

function readSyncOrFail(fd: number, buffer: Buffer, offset: number, file: string): number {
  try {
    return readSync(fd, buffer, offset, buffer.length - offset, null);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EISDIR')
      throw new UsageError(`${file}: is a directory, not a playbook file`);
    throw new UsageError(`${file}: cannot read the playbook: ${reasonOf(error)}`);
  }
}

function reasonOf(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${code})`;
  return code ? `${message.replace(/^\w+: /, '').split(',')[0]} (${code})` : message;
}
