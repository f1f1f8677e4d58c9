/**
 * Writing results to disk (Node only). Files are written atomically, and a folder that cannot
 * take them (read-only, a path under a file, a file where the folder should be, a full disk)
 * is an OutputError naming the folder: a user's problem, exit 1, not a crash. The CLI maps
 * file-system errors raised elsewhere through `toOutputError` too.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { existsSync, mkdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { OutputError } from '../errors.js';

/** Why a folder cannot take files, by error code. */
const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the disk',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a file of that name is in the way',
  EISDIR: 'a folder of that name is in the way',
};

/**
 * The OutputError for a file-system error met while writing into `folder` (the folder named
 * in the message; by default the one the error's own path is in), or undefined when `e` is
 * not such an error.
 */
export function toOutputError(e: unknown, folder?: string): OutputError | undefined {
  if (!(e instanceof Error)) return undefined;
  let err = e as NodeJS.ErrnoException & { dest?: string };
  if (err.code === 'ENOENT' && err.syscall === 'mkdir' && err.path) err = whyMkdirFailed(err.path) ?? err;
  const code = err.code;
  if (code === undefined || !(code in REASONS)) return undefined;
  const where = folder ?? folderOf(err);
  if (where === undefined) return undefined;
  let reason = REASONS[code]!;
  if (code === 'ENOTDIR') {
    const file = fileInTheWay(where);
    if (file) reason = `${file} is a file, not a folder`;
  }
  if (code === 'EISDIR' && err.dest) reason = `${err.dest} is a folder`;
  return new OutputError(`cannot write to the output folder ${where}: ${reason} (${code})`);
}

/** System calls that write; an error from another (stat, scandir, read) is not about output. */
const WRITING = new Set(['mkdir', 'open', 'write', 'rename', 'copyfile', 'link', 'symlink', 'utime', 'chmod']);

function folderOf(err: NodeJS.ErrnoException & { dest?: string }): string | undefined {
  if (!err.path || !WRITING.has(err.syscall ?? '')) return undefined;
  // mkdir names the folder itself; open/rename/write name a file inside it.
  return err.syscall === 'mkdir' ? err.path : path.dirname(err.dest ?? err.path);
}

/**
 * A recursive mkdir reports ENOENT when the first missing folder cannot be made (e.g. on a
 * read-only file system); making that one alone gives the real reason.
 */
function whyMkdirFailed(folder: string): NodeJS.ErrnoException | undefined {
  let first = path.resolve(folder);
  while (!existsSync(path.dirname(first)) && path.dirname(first) !== first) first = path.dirname(first);
  try {
    mkdirSync(first);
    rmdirSync(first);
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
  return undefined;
}

/** The nearest existing ancestor of `p` (or `p`) that is not a folder. */
function fileInTheWay(p: string): string | undefined {
  for (let d = path.resolve(p); ; d = path.dirname(d)) {
    if (existsSync(d)) return statSync(d).isDirectory() ? undefined : d;
    if (path.dirname(d) === d) return undefined;
  }
}

/** Every file written or appended to by this process, in order (what an interrupted run left). */
const written = new Set<string>();
/** Temporary files being written now. */
const pending = new Set<string>();

/** The files this process has written (completely: writes are atomic) or appended to so far. */
export function writtenFiles(): string[] {
  return [...written];
}

/** Delete the temporary files of writes in progress (for a process about to exit at once). */
export function removePartialFiles(): void {
  for (const tmp of pending) rmSync(tmp, { force: true });
  pending.clear();
}

async function mapped<T>(folder: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw toOutputError(e, folder) ?? e;
  }
}

/** Creates `folder` (and its parents) for output. */
export async function ensureFolder(folder: string): Promise<void> {
  await mapped(folder, () => mkdir(folder, { recursive: true }));
}

/** Writes bytes to `file` through a temporary file in the same folder and a rename. Creates the folder if needed. */
export async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await ensureFolder(dir);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await mapped(dir, async () => {
    pending.add(tmp);
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, file);
      written.add(file);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    } finally {
      pending.delete(tmp);
    }
  });
}

/** Appends text to `file` (one write call). */
export async function appendToFile(file: string, text: string): Promise<void> {
  await mapped(path.dirname(file), () => appendFile(file, text));
  written.add(file);
}
