// GET /: the demo login page (web/demo), demo mode only; app.ts registers it nowhere else, so
// production answers 404. It talks to the public API like any client, plus /demo/outbox and
// /demo/faults.
import { type FastifyPluginAsync } from 'fastify'
import { registerWebAssets } from '../ops/web-static.js'

export const demoPageRoutes: FastifyPluginAsync = async function demoPageRoutes (app) {
  await registerWebAssets(app, '/demo/assets/', 'demo')
  app.get('/', { schema: { hide: true } }, async function demoPage (_request, reply) {
    return reply.sendFile('demo/index.html')
  })
}
