/**
 * A freshly initialised PGlite data folder, made once by `npm run build` and unpacked for every new
 * DATA_DIR. PGlite's own first start runs initdb in a second WebAssembly instance and copies the result
 * over, which is most of a first boot (about 6 s, against about 2.5 s from the template). The file
 * is named after the PGlite version, so a template from another version is never used; without one, the
 * first start runs initdb as before. Every database made from it shares the template's system
 * identifier, which matters only to replication, and PGlite has none.
 *
 * Only the built code (the worker and the build step) loads this file: it resolves PGlite with `require`.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PREFIX = 'pgdata-template-';
const SUFFIX = '.tar.gz';

/** The installed PGlite's version, read from its package.json (its `exports` do not list that file). */
function pgliteVersion(): string {
  const entry = require.resolve('@electric-sql/pglite');
  const manifest = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/** Where the template for the installed PGlite lives: beside this module in `dist`. */
function pgdataTemplatePath(): string {
  return join(__dirname, `${PREFIX}${pgliteVersion()}${SUFFIX}`);
}

/** The template's bytes, or undefined when the build did not make one for this PGlite version. */
export function readPgdataTemplate(): Buffer | undefined {
  const path = pgdataTemplatePath();
  return existsSync(path) ? readFileSync(path) : undefined;
}

/**
 * Makes the template for the installed PGlite unless it is there already, and removes those of other
 * versions. Written to a temporary name and renamed, so a reader never sees half a file.
 */
export async function writePgdataTemplate(): Promise<{ path: string; written: boolean }> {
  const path = pgdataTemplatePath();
  for (const name of readdirSync(__dirname)) {
    if (name.startsWith(PREFIX) && name.endsWith(SUFFIX) && join(__dirname, name) !== path) rmSync(join(__dirname, name), { force: true });
  }
  if (existsSync(path)) return { path, written: false };
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create();
  try {
    const dump = await db.dumpDataDir('gzip');
    const partial = `${path}.${process.pid}.partial`;
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    renameSync(partial, path);
  } finally {
    await db.close();
  }
  return { path, written: true };
}
