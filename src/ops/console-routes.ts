// GET /console: the web console for security teams and SREs (web/console). The page itself is
// public static content; every call it makes goes through the admin API with the operator's
// token. Registered beside the admin routes, so it lives on the admin port when there is one.
import { type FastifyPluginAsync } from 'fastify'
import { registerWebAssets } from './web-static.js'

export const consoleRoutes: FastifyPluginAsync = async function consoleRoutes (app) {
  await registerWebAssets(app, '/console/assets/', 'console')
  app.get('/console', { schema: { hide: true } }, async function consolePage (_request, reply) {
    return reply.sendFile('console/index.html')
  })
  // Typed with a trailing slash, the address still opens the console.
  app.get('/console/', { schema: { hide: true } }, async function consoleSlash (_request, reply) {
    return reply.redirect('/console')
  })
}
