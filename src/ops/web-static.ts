// Serves the browser assets in web/: HTML and CSS as written, JavaScript compiled next to its
// TypeScript by `npm run build:web`. The folder is found from this module's URL: src/ops (tsx)
// and dist/ops (node) both sit two levels under the repository root, beside web/.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import { type FastifyInstance } from 'fastify'

export const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url))

// Compiled scripts and styles only: never the TypeScript sources or anything added later by mistake.
const ASSET = /^\/[a-z-]+\/[a-z0-9-]+\.(js|css)$/

/**
 * Serves web/<page>/ and web/shared/ under `prefix` (ES modules import each other relatively,
 * so both trees keep their names), and decorates reply.sendFile for the page's HTML.
 */
export async function registerWebAssets (app: FastifyInstance, prefix: string, page: string): Promise<void> {
  if (!existsSync(join(WEB_ROOT, page, 'app.js'))) app.log.warn({ page }, 'web assets not built: run npm run build:web')
  await app.register(fastifyStatic, {
    root: WEB_ROOT,
    prefix,
    index: false,
    // Every answer already says no-store (app.ts); @fastify/send would replace it with max-age=0.
    cacheControl: false,
    // reply.sendFile passes its own relative path through the same check: the page's HTML.
    allowedPath: pathName => pathName === `${page}/index.html` ||
      (ASSET.test(pathName) && (pathName.startsWith(`/${page}/`) || pathName.startsWith('/shared/')))
  })
}
