import { ZkMeterError } from '#protocol/errors.ts'

/** The broker could not start (port taken, address not available, bad options). */
export class BrokerStartError extends ZkMeterError {
  override name = 'BrokerStartError'
}

/** No MQTT broker answered at the given URL within the connect timeout. */
export class MqttUnreachableError extends ZkMeterError {
  override name = 'MqttUnreachableError'
}

/** The broker answered but refused the connection (bad credentials, protocol, client id). */
export class MqttConnectRefusedError extends ZkMeterError {
  override name = 'MqttConnectRefusedError'
}
