// Stage 1: who is asking. The client address (through trusted proxies only), its network, and
// whether an allow or deny list names it. Denied addresses are refused here, before any body is read.
import { type IncomingMessage } from 'node:http'
import proxyAddr from '@fastify/proxy-addr'
import { type onRequestAsyncHookHandler } from 'fastify'
import { type TrustProxy, trustHops } from '../config.js'
import { GatewayError } from '../errors.js'
import { addressOf, type CidrList, type ClientAddress, inList } from '../limits/address.js'
import { notesOf } from './request-notes.js'

export interface ClientIdentity extends ClientAddress {
  ip: string
  listed: 'allow' | 'deny' | null
}

export interface AddressLists {
  allow: CidrList
  deny: CidrList
}

export function identifyClient (ip: string, lists: AddressLists): ClientIdentity {
  const listed = inList(ip, lists.deny) ? 'deny' : inList(ip, lists.allow) ? 'allow' : null
  return { ip, listed, ...addressOf(ip) }
}

/** identifyClient for a raw request the router may see next (then the stage takes it as is). */
export function identifyRaw (req: IncomingMessage, ip: string, lists: AddressLists): ClientIdentity {
  const client = identifyClient(ip, lists)
  notesOf(req).client = client // the stage reuses it
  return client
}

export function createIdentifyClient (lists: AddressLists): onRequestAsyncHookHandler {
  return async function identify (request) {
    request.client = notesOf(request.raw).client ?? identifyClient(request.ip, lists)
    if (request.client.listed === 'deny') throw new GatewayError('request_blocked', { logFields: { reason: 'deny_list' } })
  }
}

/** Fastify's `trustProxy` option for the configured TRUST_PROXY (Fastify refuses hop counts). */
export function fastifyTrustProxy (trust: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? trustHops(trust) : trust
}

/**
 * The client address of a raw request exactly as Fastify's `request.ip` finds it (the same
 * @fastify/proxy-addr walk and trust function), for requests answered before Fastify sees them.
 */
export function createClientAddress (trust: TrustProxy): (req: IncomingMessage) => string | undefined {
  const option = fastifyTrustProxy(trust)
  if (option === false) return req => req.socket.remoteAddress
  const trusted = option === true ? () => true : typeof option === 'function' ? option : proxyAddr.compile(option)
  return req => proxyAddr.all(req, trusted).at(-1)
}
