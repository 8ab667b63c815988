// OTP_PROVIDERS: a list of providers, each checked against the schema of its own type, so that
// an error names the provider and the field (and never prints a token or password).
import { type Static, type TSchema, Type } from '@sinclair/typebox'
import { Ajv } from 'ajv'

const Channel = Type.Union([Type.Literal('sms'), Type.Literal('voice'), Type.Literal('email')])
const common = {
  name: Type.String({ pattern: '^[a-z0-9_-]{1,32}$' }),
  /** Lower first; providers of one priority are ordered by health. */
  priority: Type.Integer({ minimum: 0, maximum: 100, default: 10 }),
  timeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 3000 })
}
const Url = Type.String({ pattern: '^https?://[^\\s]+$' })

const SCHEMAS = {
  webhook: Type.Object({
    type: Type.Literal('webhook'),
    ...common,
    channels: Type.Array(Channel, { minItems: 1 }),
    url: Url,
    method: Type.Optional(Type.Union([Type.Literal('POST'), Type.Literal('PUT')])),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    bodyTemplate: Type.Optional(Type.String({ minLength: 2 })),
    messageIdPath: Type.Optional(Type.String({ minLength: 1 }))
  }, { additionalProperties: false }),
  twilio: Type.Object({
    type: Type.Literal('twilio'),
    ...common,
    channels: Type.Array(Type.Union([Type.Literal('sms'), Type.Literal('voice')]), { minItems: 1 }),
    baseUrl: Type.Optional(Url),
    accountSid: Type.String({ minLength: 1 }),
    authToken: Type.String({ minLength: 1 }),
    from: Type.String({ minLength: 1 })
  }, { additionalProperties: false }),
  smtp: Type.Object({
    type: Type.Literal('smtp'),
    ...common,
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    secure: Type.Optional(Type.Boolean()),
    user: Type.Optional(Type.String()),
    pass: Type.Optional(Type.String()),
    from: Type.String({ minLength: 3 })
  }, { additionalProperties: false }),
  demo: Type.Object({
    type: Type.Literal('demo'),
    ...common,
    channels: Type.Array(Channel, { minItems: 1 })
  }, { additionalProperties: false })
} satisfies Record<string, TSchema>

export type ProviderType = keyof typeof SCHEMAS
export type ProviderConfig = { [T in ProviderType]: Static<typeof SCHEMAS[T]> }[ProviderType]

/** Demo mode's providers: two for SMS (so failover can be watched), one each for voice and email. */
export const DEMO_PROVIDERS: ProviderConfig[] = [
  { type: 'demo', name: 'demo-sms', channels: ['sms'], priority: 1, timeoutMs: 3000 },
  { type: 'demo', name: 'demo-sms-backup', channels: ['sms'], priority: 2, timeoutMs: 3000 },
  { type: 'demo', name: 'demo-voice', channels: ['voice'], priority: 1, timeoutMs: 3000 },
  { type: 'demo', name: 'demo-email', channels: ['email'], priority: 1, timeoutMs: 3000 }
]

const ajv = new Ajv({ allErrors: true, useDefaults: true, allowUnionTypes: true })
const validators = Object.fromEntries(Object.entries(SCHEMAS).map(([type, schema]) => [type, ajv.compile(schema)]))

export function parseProviders (value: ReadonlyArray<{ type: string }> | undefined, mode: 'demo' | 'production', problems: string[]): ProviderConfig[] {
  if (value === undefined) return mode === 'demo' ? DEMO_PROVIDERS : []
  const names = new Set<string>()
  const providers: ProviderConfig[] = []
  value.forEach((raw, i) => {
    const item = { ...raw } as Record<string, unknown>
    const where = `OTP_PROVIDERS[${i}]${typeof item.name === 'string' ? ` (${item.name})` : ''}`
    const validate = validators[String(item.type)]
    if (validate === undefined) {
      problems.push(`${where}: type must be one of ${Object.keys(SCHEMAS).join(', ')}`)
      return
    }
    if (!validate(item)) {
      for (const e of validate.errors ?? []) problems.push(`${where}${e.instancePath.replaceAll('/', '.')}: ${e.message ?? 'is invalid'}${e.params.additionalProperty ? ` (${String(e.params.additionalProperty)})` : ''}`)
      return
    }
    const provider = item as ProviderConfig
    if (names.has(provider.name)) problems.push(`${where}: the name ${provider.name} is used twice`)
    if (provider.type === 'demo' && mode === 'production') problems.push(`${where}: demo providers are for demo mode only`)
    names.add(provider.name)
    providers.push(provider)
  })
  return providers
}
