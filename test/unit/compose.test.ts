// docker-compose.yml cannot run here (no Docker engine), so what can go wrong in it without
// Docker is checked: every service's command exists, every gateway's environment is a valid
// production configuration, and the balancer points at the gateways.
import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { PRODUCTION_NODE_OPTIONS } from '../../bench/stack/build.js'
import { loadConfig } from '../../src/config.js'

interface Service { build?: string, image?: string, command?: string[], environment?: Record<string, string>, ports?: string[], depends_on?: Record<string, unknown> }
const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as { services: Record<string, Service> }
const services = compose.services
const gateways = Object.entries(services).filter(([, s]) => s.build !== undefined && s.command === undefined)

describe('docker-compose.yml', () => {
  it('runs commands that the image builds', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.command === undefined || s.image !== undefined) continue
      const [node, script = ''] = s.command
      expect(node, name).toBe('node')
      expect(existsSync(new URL(`../../${script.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts')}`, import.meta.url)), `${name}: ${script}`).toBe(true)
    }
  })

  it('gives two gateway replicas a valid production configuration that they share', () => {
    expect(gateways.map(([name]) => name)).toEqual(['gateway-1', 'gateway-2'])
    for (const [name, s] of gateways) {
      const config = loadConfig(s.environment ?? {})
      expect(config.mode, name).toBe('production')
      expect(config.GATEWAY_REPLICAS).toBe(2)
      expect(config.otpProviders.map(p => p.name)).toEqual(['sms-primary', 'sms-backup', 'voice', 'email'])
    }
    expect(gateways[0]?.[1].environment).toEqual(gateways[1]?.[1].environment)
  })

  it('puts the balancer in front of both replicas, after they are healthy, as the only peer they trust', () => {
    const lb = services.lb as Service & { networks?: { default?: { ipv4_address?: string } } }
    const lbAddress = lb.networks?.default?.ipv4_address
    for (const [name, s] of gateways) {
      expect(s.environment?.TRUST_PROXY, name).toBe(lbAddress)
      expect(s.ports, `${name} must not be reachable around the balancer`).toBeUndefined()
    }
    expect(lb?.environment?.BALANCER_UPSTREAMS).toBe('http://gateway-1:8080,http://gateway-2:8080')
    expect(Object.keys(lb?.depends_on ?? {})).toEqual(['gateway-1', 'gateway-2'])
    expect(lb?.ports).toEqual(['8000:8000'])
  })
})

describe('the production process', () => {
  it('runs with the same heap cap in the image, in start:prod and in the bench\'s compiled mode', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8')
    expect(dockerfile).toContain(`NODE_OPTIONS="${PRODUCTION_NODE_OPTIONS}"`)
    const scripts = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts
    expect(scripts['start:prod']).toBe(`node ${PRODUCTION_NODE_OPTIONS} dist/server.js`)
  })
})
