/**
 * The meter of `bench:ingest`'s MQTT run, in a process of its own (as a real meter is a device of
 * its own): it logs in, waits for "go", publishes every signed record it was handed at QoS 1 and
 * reports when the broker has acknowledged them all. Started by bench/ingest.ts over IPC.
 */
import mqtt from 'mqtt'

interface Job {
  url: string
  username: string
  password: string
  ca?: string
  topic: string
  payloads: string[]
}

const send = (message: unknown) => process.send?.(message)

process.once('message', async (job: Job) => {
  const client = mqtt.connect(job.url, {
    clientId: job.username,
    username: job.username,
    password: job.password,
    ...(job.ca ? { ca: job.ca } : {}),
    reconnectPeriod: 0,
  })
  client.on('error', (error) => send({ error: error.message }))
  await new Promise<void>((resolve) => client.once('connect', () => resolve()))
  process.once('message', async () => {
    const cpu = process.cpuUsage()
    await Promise.all(job.payloads.map((p) => client.publishAsync(job.topic, p, { qos: 1 })))
    const used = process.cpuUsage(cpu)
    send({ published: job.payloads.length, cpuUs: used.user + used.system })
    await client.endAsync()
    process.exit(0)
  })
  send({ ready: true })
})
