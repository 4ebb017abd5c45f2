import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';

/**
 * The most a mesh file or a contract file may hold: far past any real one (a mesh file of a few
 * hundred agents is tens of kilobytes), and short of what parsing takes gigabytes of memory for (a
 * 100 MB file took 3.5 GB).
 */
export const POLICY_FILE_MAX_BYTES = 4 * 1024 * 1024;

/** A policy file's text, or why it is not read. */
export type PolicyFileText = { readonly text: string } | { readonly problem: string };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Reads a mesh or contract file, bounded: never more than POLICY_FILE_MAX_BYTES and one, whatever
 * the file grows to while it is read, and only a regular file (a device such as /dev/zero never
 * ends, and a FIFO is opened without waiting for a writer, then refused). The file opened is the
 * one examined (same device and inode), so a file swapped in between is not read either. A file that is
 * not there, or a directory, throws as `readFile` does (ENOENT, EISDIR), for the caller to word.
 */
export async function readPolicyFile(path: string): Promise<PolicyFileText> {
  const seen = await stat(path);
  if (seen.isDirectory()) throw Object.assign(new Error(`${path} is a directory`), { code: 'EISDIR' });
  if (!seen.isFile()) return { problem: 'is not a regular file' };
  if (seen.size > POLICY_FILE_MAX_BYTES) return tooLarge(seen.size);
  // Non-blocking: a FIFO swapped in after the stat opens at once (and is refused below) instead of
  // waiting for a writer; a regular file reads as it would.
  const file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const opened = await file.stat();
    if (!opened.isFile() || opened.ino !== seen.ino || opened.dev !== seen.dev)
      return { problem: 'changed while it was being read; read it again' };
    // Room for what it held when examined and a little more; grown (to the limit and one) only if
    // it is still being written.
    let bytes = Buffer.allocUnsafe(Math.min(opened.size + 4096, POLICY_FILE_MAX_BYTES + 1));
    let length = 0;
    for (;;) {
      const { bytesRead } = await file.read(bytes, length, bytes.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length < bytes.length) continue;
      if (length > POLICY_FILE_MAX_BYTES) return tooLarge(length);
      const grown = Buffer.allocUnsafe(Math.min(bytes.length * 2, POLICY_FILE_MAX_BYTES + 1));
      bytes.copy(grown, 0, 0, length);
      bytes = grown;
    }
    try {
      return { text: utf8.decode(bytes.subarray(0, length)) };
    } catch {
      return { problem: 'is not UTF-8 text' };
    }
  } finally {
    await file.close();
  }
}

function tooLarge(bytes: number): PolicyFileText {
  const limit = POLICY_FILE_MAX_BYTES.toLocaleString('en');
  return {
    problem: `is ${bytes.toLocaleString('en')} bytes or more, over the limit of ${limit} for a policy file`,
  };
}

/** The text, or '' for a file that cannot be read: for readers that only place what a load found. */
export async function policyFileTextOrEmpty(path: string): Promise<string> {
  const read = await readPolicyFile(path).catch(() => undefined);
  return read !== undefined && 'text' in read ? read.text : '';
}
