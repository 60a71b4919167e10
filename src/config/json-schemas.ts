import { z } from 'zod';
import { checksFileSchema, indexSetSchema } from './index-set-schema.js';
import { projectConfigSchema } from './project-config.js';
import { scenarioSchema } from './scenario-schema.js';

/** The JSON Schema documents shipped in `schemas/`, by file name. */
export function schemaDocuments(): Record<string, object> {
  return {
    'index-set.schema.json': z.toJSONSchema(indexSetSchema, { io: 'input' }),
    'checks.schema.json': z.toJSONSchema(checksFileSchema, { io: 'input' }),
    'scenario.schema.json': z.toJSONSchema(scenarioSchema, { io: 'input' }),
    'dbtune-config.schema.json': z.toJSONSchema(projectConfigSchema, { io: 'input' }),
  };
}
