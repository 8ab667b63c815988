import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { ConfigError, ConfigSchema, loadConfig } from '../../src/config.js'

function configError (env: Record<string, string>, file?: Record<string, unknown>): ConfigError {
  try {
    loadConfig(env, file)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig', () => {
  it('runs in demo mode on loopback with no configuration at all', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({ mode: 'demo', host: '127.0.0.1', PORT: 8080, AUTH_BACKEND_TIMEOUT_MS: 2000, trustProxy: false, sessionCookieSecure: false })
  })

  it('runs in production mode when a backend and Redis are configured, listening on all interfaces', () => {
    const config = loadConfig({ AUTH_BACKEND_URL: 'http://auth:9000', REDIS_URL: 'redis://redis:6379', GATEWAY_SECRET: 's'.repeat(32) })
    expect(config).toMatchObject({ mode: 'production', host: '0.0.0.0', sessionCookieSecure: true, secret: 's'.repeat(32) })
  })

  it('refuses production mode without a gateway secret, which every replica must share', () => {
    expect(configError({ AUTH_BACKEND_URL: 'http://auth:9000', REDIS_URL: 'redis://redis:6379' }).message).toMatch(/GATEWAY_SECRET is missing/)
  })

  it('makes a random secret per process in demo mode', () => {
    expect(loadConfig({}).secret).not.toBe(loadConfig({}).secret)
  })

  it('merges limit overrides from JSON onto the defaults and names bad ones', () => {
    const config = loadConfig({ LIMITS: '{"ip_attempts":{"points":50,"shadow":true}}' })
    expect(config.limits.ip_attempts).toMatchObject({ points: 50, shadow: true, windowS: 60, key: 'ip' })
    expect(config.limits.ip_failures.points).toBe(100)
    expect(configError({ LIMITS: '{"ip_attempts":{"points":0}}' }).message).toMatch(/LIMITS/)
    expect(configError({ LIMITS: '{"ip_atempts":{"points":5}}' }).message).toMatch(/LIMITS/)
    expect(configError({ LIMITS: '{nope' }).message).toMatch(/LIMITS is not valid JSON/)
  })

  it('parses the allow and deny lists and names a bad entry', () => {
    expect(loadConfig({ ALLOW_CIDRS: '10.0.0.0/8, 2001:db8::/32' }).allowList).toHaveLength(2)
    expect(configError({ DENY_CIDRS: '10.0.0.0/8,nope' }).message).toMatch(/DENY_CIDRS="10.0.0.0\/8,nope" is invalid: nope/)
  })

  it('refuses production mode without Redis, naming the missing key', () => {
    expect(configError({ AUTH_BACKEND_URL: 'http://auth:9000' }).message).toMatch(/REDIS_URL is missing/)
  })

  it('names the key, the value and what is allowed for a bad number', () => {
    const message = configError({ PORT: '70000' }).message
    expect(message).toContain('PORT="70000"')
    expect(message).toContain('an integer from 0 to 65535')
  })

  it('names the allowed values of an enumerated key once', () => {
    const err = configError({ LOG_LEVEL: 'loud' })
    expect(err.problems).toHaveLength(1)
    expect(err.problems[0]).toBe('LOG_LEVEL="loud" is invalid: allowed one of fatal, error, warn, info, debug, trace, silent')
  })

  it('lists every bad key in one message', () => {
    const err = configError({ PORT: 'abc', AUTH_BACKEND_URL: 'ftp://x', REDIS_URL: 'redis://r' })
    expect(err.problems.join('\n')).toMatch(/PORT="abc"/)
    expect(err.problems.join('\n')).toMatch(/AUTH_BACKEND_URL="ftp:\/\/x"/)
  })

  it('lets the environment override the file, and treats empty variables as unset', () => {
    const config = loadConfig({ PORT: '9000', LOG_LEVEL: '' }, { PORT: 7000, LOG_LEVEL: 'warn', SESSION_MAX_PER_USER: 3 })
    expect(config).toMatchObject({ PORT: 9000, LOG_LEVEL: 'warn', SESSION_MAX_PER_USER: 3 })
  })

  it('rejects unknown keys in the config file', () => {
    expect(configError({}, { PROT: 80 }).message).toMatch(/unknown key PROT/)
  })

  it('parses TRUST_PROXY as off, everything, a hop count or a list of addresses and CIDRs', () => {
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false)
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true)
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2)
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,loopback,fd00::/8' }).trustProxy)
      .toEqual(['10.0.0.0/8', '192.168.1.7', 'loopback', 'fd00::/8'])
  })

  it('names the entry of TRUST_PROXY that is not an address', () => {
    expect(configError({ TRUST_PROXY: '10.0.0.0/8,10.0.0.0/33,proxy.local' }).message).toMatch(/10\.0\.0\.0\/33, proxy\.local is not an IP/)
  })

  it('refuses an idle timeout longer than the absolute one', () => {
    expect(configError({ SESSION_IDLE_TIMEOUT_S: '7200', SESSION_ABSOLUTE_TIMEOUT_S: '3600' }).message).toMatch(/SESSION_IDLE_TIMEOUT_S=7200 must not exceed/)
  })
})

describe('README configuration table', () => {
  it('documents every configuration key, and no key that does not exist', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('### Client addresses'))
    const documented = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map(m => m[1]).sort()
    expect(documented).toEqual(Object.keys(ConfigSchema.properties).sort())
  })
})

describe('Redis topologies', () => {
  const production = { AUTH_BACKEND_URL: 'http://b', GATEWAY_SECRET: 's'.repeat(32) }
  it('take one node, sentinels with their master, or cluster seed nodes', () => {
    expect(loadConfig({ ...production, REDIS_URL: 'redis://r:6379' }).redis).toEqual({ kind: 'single', url: 'redis://r:6379' })
    expect(loadConfig({ ...production, REDIS_SENTINELS: 's1:26379, [::1]:26380', REDIS_SENTINEL_MASTER: 'lg', REDIS_PASSWORD: 'pw' }).redis)
      .toEqual({ kind: 'sentinel', sentinels: [{ host: 's1', port: 26379 }, { host: '::1', port: 26380 }], master: 'lg', password: 'pw' })
    expect(loadConfig({ ...production, REDIS_CLUSTER_NODES: 'n1:7000,n2:7001' }).redis).toEqual({ kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }] })
  })

  it('name what is missing or malformed', () => {
    expect(configError({ ...production, REDIS_SENTINELS: 's1:26379' }).message).toMatch(/REDIS_SENTINEL_MASTER is missing/)
    expect(configError({ ...production, REDIS_CLUSTER_NODES: 'n1' }).message).toMatch(/REDIS_CLUSTER_NODES="n1" is invalid/)
    expect(configError({ ...production, REDIS_CLUSTER_NODES: 'n1:7000', REDIS_PASSWORD: 'x', REDIS_URL: 'redis://r' }).message).not.toContain('"x"')
  })
})

describe('configuration errors', () => {
  it('never print a secret or a Redis password', () => {
    const message = configError({ ADMIN_TOKEN: 'hunter2-short', GATEWAY_SECRET: 'tiny-secret', REDIS_URL: 'redis://:p4ssw0rd@h:1 x' }).message
    expect(message).toMatch(/ADMIN_TOKEN="\[redacted\]" is invalid/)
    expect(message).toMatch(/GATEWAY_SECRET="\[redacted\]" is invalid/)
    expect(message).toMatch(/REDIS_URL="redis:\/\/\[redacted\]@h:1 x" is invalid/)
    expect(message).not.toMatch(/hunter2|tiny-secret|p4ssw0rd/)
  })

  it('refuse SameSite=None without Secure, and Redis topologies this version cannot use', () => {
    expect(configError({ SESSION_COOKIE_SAMESITE: 'none' }).message).toMatch(/SESSION_COOKIE_SAMESITE=none needs SESSION_COOKIE_SECURE=true/)
    expect(configError({ REDIS_SENTINELS: 'a:26379', REDIS_URL: 'redis://r' }).message).toMatch(/REDIS_URL and REDIS_SENTINELS are both set/)
  })
})
