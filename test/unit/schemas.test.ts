import { readFile, readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { schemaDocuments } from '../../src/config/json-schemas.js';
import { loadIndexSets } from '../../src/config/load-index-sets.js';

const root = new URL('../../', import.meta.url);

describe('shipped JSON Schemas', () => {
  it.each(Object.entries(schemaDocuments()))('schemas/%s is what the validator uses (run `npm run build && npm run schemas` if not)', async (file, schema) => {
    const committed = JSON.parse(await readFile(new URL(`schemas/${file}`, root), 'utf8')) as object;
    expect(committed).toEqual(JSON.parse(JSON.stringify(schema)));
  });
});

describe('example index sets in indexes/', () => {
  it('all load without problems and name the schema for editors', async () => {
    const files = (await readdir(new URL('indexes/', root))).filter((f) => f.endsWith('.yaml')).map((f) => new URL(`indexes/${f}`, root).pathname);
    expect(files.length).toBeGreaterThan(0);
    const sets = await loadIndexSets(files);
    expect(sets.flatMap((s) => s.indexes).length).toBeGreaterThan(5);
    for (const file of files) expect(await readFile(file, 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\.\/schemas\/index-set\.schema\.json$/m);
  });
});
