// Log collection over REST: the server's own files (src/ops/logs), scrubbed of secrets.
import { SUPPORT } from '../../api/support.js';
import type { SupportFile } from '../../ops/logs/server-files.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';

export function supportRoutes(files: () => SupportFile[]): Route[] {
  return bind(SUPPORT, { files: () => files() });
}
