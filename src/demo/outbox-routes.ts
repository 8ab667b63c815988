// GET /demo/outbox: what the demo providers "sent", so a newcomer can read bob's code. Registered
// in demo mode only; elsewhere the route does not exist (404).
import { type FastifyPluginAsync } from 'fastify'
import { type Outbox } from '../otp/providers/demo-provider.js'

export const outboxRoutes: FastifyPluginAsync<{ outbox: Outbox }> = async function outboxRoutes (app, { outbox }) {
  app.get('/demo/outbox', async function demoOutbox () {
    return { messages: outbox.list() }
  })
}
