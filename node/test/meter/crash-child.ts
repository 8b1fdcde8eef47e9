/**
 * Child process for the crash test: a virtual meter on a fast scaled clock with a state file,
 * meant to be killed with SIGKILL mid-run. argv: mqttUrl stateFile startTime
 */
import { readMeterCheckpoint } from '../../src/meter/checkpoint.ts'
import { createScaledClock } from '../../src/meter/clock.ts'
import { createVirtualMeter } from '../../src/meter/virtual-meter.ts'
import { DOMAIN, PAIRING_KEY, PRIVATE_KEY, TEST_N } from './fixtures.ts'

const [mqttUrl, stateFile, startTime] = process.argv.slice(2)
if (!mqttUrl || !stateFile || !startTime)
  throw new Error('usage: crash-child.ts <mqttUrl> <stateFile> <startTime>')
const saved = readMeterCheckpoint(stateFile, PRIVATE_KEY)
const meter = createVirtualMeter({
  privateKey: PRIVATE_KEY,
  pairingKey: PAIRING_KEY,
  domain: DOMAIN,
  mqttUrl,
  // From the environment, not argv: a password has no place in a process list.
  mqttPassword: process.env.ZKM_TEST_MQTT_PASSWORD,
  clock: createScaledClock({ start: saved?.time ?? Number(startTime), speed: 20_000, tickMs: 20 }),
  periodSize: TEST_N,
  periodDays: 1,
  livePeriodSeconds: 300,
  stateFile,
})
await meter.start()
process.stdout.write('started\n')
