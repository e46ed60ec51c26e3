// REST routes of log collection (kura logs collect): what the server adds to
// the archive besides what the other routes show.
import type { ApiRoute } from './route.js';

export const SUPPORT = {
  files: {
    method: 'GET',
    path: '/api/v1/support/files',
    tag: 'support',
    summary: "The server's files for a log collection: its logs, relation files, pathd logs, alert configuration; secrets removed",
  },
} satisfies Record<string, ApiRoute>;
