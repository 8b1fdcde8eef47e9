/**
 * Who may publish and subscribe to what on the broker (docs/broker.md). One table of rules per role,
 * read by the embedded broker (authorizePublish / authorizeSubscribe) and written out as a Mosquitto
 * ACL file by `zkmeter broker-config`, so the two brokers enforce the same policy.
 *
 *   node           everything: it ingests every meter, writes acks and commands, retains discovery
 *   meter <name>   writes tele/<name>/+ and stat/<name>/+; reads cmnd/<name>/# and zkmeter/<name>/ack
 *   homeassistant  reads discovery, SENSOR/STATE/LWT and stat/; writes its birth message and the
 *                  relay commands the resident allowed it (default: the switches discovery offers)
 *   tool           reads STATE, LWT, stat/ and discovery; writes nothing
 */
import { RELAY_COUNT } from '../automation/reading.ts'

export const MQTT_ROLES = ['node', 'meter', 'homeassistant', 'tool'] as const
export type MqttRole = (typeof MQTT_ROLES)[number]

/** What an ACL decision needs to know about a user. */
export interface MqttPrincipal {
  username: string
  role: MqttRole
  /** homeassistant only: the cmnd/<meter>/<command> names it may publish. */
  commands?: readonly string[]
}

export interface AclRule {
  access: 'read' | 'write'
  /** An MQTT filter; `+` and `#` as in subscriptions. */
  filter: string
}

/**
 * The commands Home Assistant may send unless the resident narrows them: the relays and the fan
 * speed its discovery entities switch. Not Resend/ResendPeriod (the node's own conversation with
 * the meter) and not PeriodDays (it moves billing periods): a compromised Home Assistant can
 * switch what the resident lets it switch, and nothing that touches bills.
 */
export const DEFAULT_HOME_ASSISTANT_COMMANDS: readonly string[] = [
  ...Array.from({ length: RELAY_COUNT }, (_, i) => `POWER${i + 1}`),
  'FanSpeed',
]

export const COMMAND_RE = /^[A-Za-z0-9]{1,32}$/

export function rulesFor(user: MqttPrincipal): AclRule[] {
  const u = user.username
  switch (user.role) {
    case 'node':
      return [
        { access: 'read', filter: '#' },
        { access: 'write', filter: '#' },
      ]
    case 'meter':
      return [
        { access: 'write', filter: `tele/${u}/+` },
        { access: 'write', filter: `stat/${u}/+` },
        { access: 'read', filter: `cmnd/${u}/#` },
        { access: 'read', filter: `zkmeter/${u}/ack` },
      ]
    case 'homeassistant':
      return [
        { access: 'read', filter: 'homeassistant/#' },
        { access: 'read', filter: 'tele/+/SENSOR' },
        { access: 'read', filter: 'tele/+/STATE' },
        { access: 'read', filter: 'tele/+/LWT' },
        { access: 'read', filter: 'stat/+/+' },
        { access: 'write', filter: 'homeassistant/status' },
        ...(user.commands ?? DEFAULT_HOME_ASSISTANT_COMMANDS).map(
          (command) => ({ access: 'write', filter: `cmnd/+/${command}` }) as const,
        ),
      ]
    case 'tool':
      return [
        { access: 'read', filter: 'homeassistant/#' },
        { access: 'read', filter: 'tele/+/STATE' },
        { access: 'read', filter: 'tele/+/LWT' },
        { access: 'read', filter: 'stat/+/+' },
      ]
  }
}

/** Whether `topic` (no wildcards) matches the filter, as MQTT 3.1.1 §4.7 defines. */
export function topicMatches(filter: string, topic: string): boolean {
  return levelsMatch(filter.split('/'), topic.split('/'), topic.startsWith('$'))
}

/**
 * Whether every topic the `requested` subscription filter can match is matched by `allowed`: a
 * subscription is granted only if it cannot receive anything outside the rule.
 */
export function filterCovers(allowed: string, requested: string): boolean {
  if (requested.startsWith('$') !== allowed.startsWith('$')) return false
  const a = allowed.split('/')
  const r = requested.split('/')
  for (let i = 0; i < a.length; i++) {
    const level = a[i]
    if (level === '#') return true
    if (i >= r.length) return false
    const wanted = r[i]
    if (wanted === '#') return false
    if (level === '+') continue
    if (wanted === '+' || wanted !== level) return false
  }
  return a.length === r.length
}

/**
 * Each principal's write filters split into levels, made once: the broker asks mayPublish on every
 * PUBLISH (a meter's backlog is thousands a minute), and building the rule table and splitting its
 * filters each time was most of the check's cost. Keyed by the principal object (the credential
 * store hands out one per user and file version; principals are never changed in place).
 */
const writeFilters = new WeakMap<MqttPrincipal, string[][]>()

function writeFiltersOf(user: MqttPrincipal): string[][] {
  let filters = writeFilters.get(user)
  if (filters === undefined) {
    filters = rulesFor(user)
      .filter((rule) => rule.access === 'write')
      .map((rule) => rule.filter.split('/'))
    writeFilters.set(user, filters)
  }
  return filters
}

/** topicMatches on pre-split levels. */
function levelsMatch(f: readonly string[], t: readonly string[], system: boolean): boolean {
  if (system && !(f[0] ?? '').startsWith('$')) return false
  for (let i = 0; i < f.length; i++) {
    const level = f[i]
    if (level === '#') return true
    if (i >= t.length) return false
    if (level !== '+' && level !== t[i]) return false
  }
  return f.length === t.length
}

export function mayPublish(user: MqttPrincipal, topic: string): boolean {
  const levels = topic.split('/')
  const system = topic.startsWith('$')
  return writeFiltersOf(user).some((filter) => levelsMatch(filter, levels, system))
}

export function maySubscribe(user: MqttPrincipal, filter: string): boolean {
  return rulesFor(user).some((rule) => rule.access === 'read' && filterCovers(rule.filter, filter))
}

/** The node's own sessions: a client id with this prefix is the node's, whoever else asks for it. */
export const NODE_CLIENT_ID_PREFIX = 'zkmeter-'

/**
 * Whether this user may connect with this client id. A broker hands a persistent session (its
 * subscriptions and queued messages) to whoever reconnects with its client id and disconnects the
 * holder, so ids are bound to users: a meter connects as its own name only (that is what the
 * firmware and the virtual meter do); nobody but the node takes a `zkmeter-` id; nobody takes
 * another user's name.
 */
export function mayUseClientId(
  user: MqttPrincipal,
  clientId: string,
  isOtherUser: (id: string) => boolean,
): boolean {
  if (user.role === 'node') return true
  if (user.role === 'meter') return clientId === user.username
  return !clientId.startsWith(NODE_CLIENT_ID_PREFIX) && !isOtherUser(clientId)
}
