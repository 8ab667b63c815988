// Demo mode only (elsewhere these routes do not exist: 404):
// GET /demo/outbox, what the demo providers "sent", so a newcomer can read bob's code;
// GET and PUT /demo/faults, switches to watch the fallbacks: backend down or slow, an OTP
// provider down, maintenance on.
import { Type } from '@sinclair/typebox'
import { type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { maintenancePhase } from '../admission/maintenance.js'
import { type MaintenanceState } from '../admission/maintenance-state.js'
import { tagRoutes } from '../ops/openapi.js'
import { type Delivery } from '../otp/delivery.js'
import { type Outbox } from '../otp/providers/demo-provider.js'
import { type DemoFaults } from './demo-faults.js'

export interface DemoRouteDeps {
  outbox: Outbox
  faults: DemoFaults
  delivery: Delivery
  maintenance: MaintenanceState
  now: () => number
}

const DEMO_MAINTENANCE_MS = 10 * 60_000

const FaultsBody = Type.Object({
  backend: Type.Optional(Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('slow')])),
  providersDown: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 32 })),
  maintenance: Type.Optional(Type.Boolean())
}, { additionalProperties: false })

export const demoRoutes: FastifyPluginAsyncTypebox<DemoRouteDeps> = async function demoRoutes (app, deps) {
  const describe = () => ({
    backend: deps.faults.backend,
    providers: deps.delivery.status().map(p => ({ name: p.name, channels: p.channels, down: deps.faults.providersDown.has(p.name), breaker: p.breaker })),
    maintenance: maintenancePhase(deps.maintenance.current(), deps.now()) === 'active'
  })

  tagRoutes(app, 'demo')
  app.get('/demo/outbox', async function demoOutbox () {
    return { messages: deps.outbox.list() }
  })

  app.get('/demo/faults', async () => describe())

  app.put('/demo/faults', { schema: { body: FaultsBody } }, async function setFaults (request) {
    const { backend, providersDown, maintenance } = request.body
    if (backend !== undefined) deps.faults.backend = backend
    if (providersDown !== undefined) deps.faults.providersDown = new Set(providersDown)
    if (maintenance === true) {
      await deps.maintenance.set({ until: deps.now() + DEMO_MAINTENANCE_MS, message: { en: 'A demo maintenance window.', 'zh-CN': '演示用的维护窗口。' } })
    }
    if (maintenance === false) await deps.maintenance.end()
    request.log.info({ faults: describe() }, 'demo faults changed')
    return describe()
  })
}
