// Stage 1: who is asking. The client address (through trusted proxies only), its network, and
// whether an allow or deny list names it. Denied addresses are refused here, before any body is read.
import { type onRequestAsyncHookHandler } from 'fastify'
import { GatewayError } from '../errors.js'
import { addressOf, type CidrList, type ClientAddress, inList } from '../limits/address.js'

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

export function createIdentifyClient (lists: AddressLists): onRequestAsyncHookHandler {
  return async function identify (request) {
    request.client = identifyClient(request.ip, lists)
    if (request.client.listed === 'deny') throw new GatewayError('request_blocked', { logFields: { reason: 'deny_list' } })
  }
}
