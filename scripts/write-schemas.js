// Writes the JSON Schemas in schemas/ from the zod definitions dbtune validates with,
// so editors (yaml-language-server) and dbtune check the same rules.
// Usage: npm run schemas (after npm run build). test/unit/schemas.test.ts fails when they are stale.
import { writeFile } from 'node:fs/promises';
import { schemaDocuments } from '../dist/config/json-schemas.js';

for (const [file, schema] of Object.entries(schemaDocuments())) {
  await writeFile(new URL(`../schemas/${file}`, import.meta.url), `${JSON.stringify(schema, null, 2)}\n`);
  process.stdout.write(`wrote schemas/${file}\n`);
}
