// From OTP_PROVIDERS entries to providers.
import { type DemoFaults } from '../demo/demo-faults.js'
import { type ProviderSetup } from './delivery.js'
import { type ProviderConfig } from './provider-config.js'
import { createDemoProvider, type Outbox } from './providers/demo-provider.js'
import { createSmtpProvider } from './providers/smtp-provider.js'
import { createTwilioProvider } from './providers/twilio-provider.js'
import { createWebhookProvider } from './providers/webhook-provider.js'

export function createProviders (configs: readonly ProviderConfig[], outbox: Outbox, faults: DemoFaults): ProviderSetup[] {
  return configs.map(c => ({ provider: providerFor(c, outbox, faults), priority: c.priority, timeoutMs: c.timeoutMs }))
}

function providerFor (c: ProviderConfig, outbox: Outbox, faults: DemoFaults) {
  switch (c.type) {
    case 'webhook': {
      const { type: _type, priority: _priority, ...options } = c
      return createWebhookProvider(options)
    }
    case 'twilio': {
      const { type: _type, priority: _priority, ...options } = c
      return createTwilioProvider(options)
    }
    case 'smtp': {
      const { type: _type, priority: _priority, ...options } = c
      return createSmtpProvider(options)
    }
    case 'demo': return createDemoProvider(c.name, c.channels, outbox, faults)
  }
}
