// The JSON Schema of a pool definition, for editors (cli/json-schema.ts), printed on stdout.
//
// Usage: npx tsx scripts/clouds-schema.ts > clouds.schema.json
// then, in a clouds.json: "$schema": "./clouds.schema.json" (a clouds.ts needs none: definePool's
// types already are the schema).
import { poolJsonSchema } from '../cli/json-schema.ts';

process.stdout.write(`${JSON.stringify(poolJsonSchema(), null, 2)}\n`);
