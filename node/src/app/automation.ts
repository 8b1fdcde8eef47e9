/**
 * MQTT, where the meter and automation talk: the embedded broker (unless MQTT_URL names one), and
 * automation (rules, alarms, relay commands) over its own connection, with the Home Assistant
 * discovery of this meter. A raised hazard alarm is signed and sent to the neighbours by the mesh.
 */

import { join } from 'node:path'
import { meterTopicName } from '#protocol/topics.ts'
import { openAlarmStore } from '../automation/alarm-store.ts'
import { openRuleStore, type RuleStore } from '../automation/rule-store.ts'
import { type Automation, createAutomation } from '../automation/service.ts'
import type { NodeConfig } from '../config.ts'
import { discoveryConfigs, publishDiscovery } from '../homeassistant/discovery.ts'
import type { Logger } from '../log/logger.ts'
import { createBroker } from '../mqtt/broker.ts'
import { closeMqtt, connectMqtt } from '../mqtt/client.ts'
import type { CredentialStore, MqttCredentials } from '../mqtt/credentials.ts'
import { nodeTlsCredentials } from '../tls/index.ts'
import type { Lifecycle } from './lifecycle.ts'
import type { HouseholdMesh } from './mesh.ts'

/**
 * The broker's URL: the embedded one, started here (plain MQTT on loopback; TLS on every interface
 * with --mqtt-tls-port, for meters on the LAN), or the external one configured.
 */
export async function startBroker(
  mqtt: NodeConfig['mqtt'],
  lifecycle: Lifecycle,
  log: Logger,
  /** `listen`: the node's LAN address (--listen), a name of the certificate the TLS listener shows. */
  access: { credentials: CredentialStore; dataDir: string; listen?: string | undefined },
): Promise<string> {
  if (mqtt.url !== undefined) return mqtt.url
  const tls =
    mqtt.tlsPort === undefined
      ? undefined
      : {
          port: mqtt.tlsPort,
          // The same household CA and server certificate as the HTTPS API (created if this is the
          // first start that needs one), so a meter trusts one CA for both.
          ...(await nodeTlsCredentials(access.dataDir, access.listen)),
        }
  const broker = createBroker({
    host: '127.0.0.1',
    port: mqtt.embeddedPort,
    log,
    credentials: access.credentials,
    ...(tls ? { tls } : {}),
  })
  await broker.start()
  lifecycle.started('MQTT broker', broker)
  if (broker.tlsUrl) log.info('MQTT over TLS for meters on the home network', { port: broker.tlsPort })
  return broker.url
}

export async function startAutomation(options: {
  dataDir: string
  mqttUrl: string
  /** The node's broker login. */
  credentials: MqttCredentials
  meter: `0x${string}`
  mesh: HouseholdMesh | undefined
  lifecycle: Lifecycle
  log: Logger
}): Promise<{ automation: Automation; rules: RuleStore }> {
  const { meter, mesh, lifecycle, log } = options
  const client = await connectMqtt(options.mqttUrl, {
    clientId: `zkmeter-automation-${meter.slice(2, 10)}`,
    ...options.credentials,
  })
  lifecycle.started('automation MQTT client', () => closeMqtt(client))
  const rules = await openRuleStore(join(options.dataDir, 'rules.json'))
  // Open alarms survive a restart: the meter keeps their relays latched off meanwhile.
  const alarmStore = await openAlarmStore(join(options.dataDir, 'alarms.json'), {
    onError: (error) => log.error('could not save the open alarms', { error }),
  })
  if (alarmStore.problem) log.error(alarmStore.problem.message, { error: alarmStore.problem })
  const automation = createAutomation({
    client,
    meter: meterTopicName(meter),
    rules: rules.current(),
    alarms: {
      restore: alarmStore.restored,
      onChange: alarmStore.save,
      ...(mesh ? { broadcast: mesh.broadcastAlarm } : {}),
    },
  })
  lifecycle.started('open-alarms file', { stop: alarmStore.flush })
  await automation.start()
  lifecycle.started('automation', automation)
  await publishDiscovery(client, discoveryConfigs({ meter: meterTopicName(meter) }))
  return { automation, rules }
}
