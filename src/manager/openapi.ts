// The OpenAPI 3 document, built from the router's table.
import type { FieldSpec, Route } from './router.js';
import { LD_NOT_FOUND } from '../catalogue/array.js';

function schemaOf(f: FieldSpec): Record<string, unknown> {
  switch (f.type) {
    case 'string':
      return { type: 'string', description: f.description, ...(f.enum ? { enum: f.enum } : {}) };
    case 'integer':
      return { type: 'integer', description: f.description };
    case 'boolean':
      return { type: 'boolean', description: f.description };
    case 'size':
      return {
        oneOf: [
          { type: 'integer', minimum: 0 },
          { type: 'string', pattern: '^[0-9.]+ ?[KMGTP]?i?B?$' },
        ],
        description: `${f.description} (bytes, or e.g. "10GiB")`,
      };
    case 'string[]':
      return { type: 'array', items: { type: 'string' }, description: f.description };
    case 'map':
      return { type: 'object', additionalProperties: { type: 'string', nullable: true }, description: f.description };
    case 'object[]':
      return { type: 'array', items: { type: 'object' }, description: f.description };
  }
}

export function openApiDocument(routes: Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    for (const [name, f] of Object.entries(r.query ?? {})) params.push({ name, in: 'query', required: false, schema: schemaOf(f) as { type: string } });
    const op: Record<string, unknown> = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method.toLowerCase()}${r.path
        .replace(/^\/api\/v1/, '')
        .replace(/[{}]/g, '')
        .replace(/[/.-](\w)/g, (_m, c: string) => c.toUpperCase())}`,
      parameters: params,
      responses: {
        [String(r.status ?? 200)]: { description: 'success' },
        default: { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
    if (r.public) op['security'] = [];
    if (r.body) {
      const required = Object.entries(r.body)
        .filter(([, f]) => f.required)
        .map(([k]) => k);
      op['requestBody'] = {
        required: required.length > 0,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              additionalProperties: false,
              required,
              properties: Object.fromEntries(Object.entries(r.body).map(([k, f]) => [k, schemaOf(f)])),
            },
          },
        },
      };
    }
    (paths[r.path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Kura management API',
      version,
      description:
        'Pools, logical disks, snapshots, clones, hosts, faults, licences and events of a Kura array. Every error body is {"error": {"id", "code", "message", "action"}}.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The token in DATA/admin.token' } },
      schemas: {
        Error: {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: {
                id: { type: 'string', example: LD_NOT_FOUND.id },
                code: { type: 'string' },
                message: { type: 'string' },
                action: { type: 'string' },
              },
            },
          },
        },
      },
    },
    paths,
  };
}
