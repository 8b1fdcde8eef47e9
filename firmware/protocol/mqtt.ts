/**
 * The meter's MQTT payloads (docs/protocol.md §7) exactly as the firmware prints them
 * (firmware/core/src/zkm_mqtt.cpp): compact JSON, display values by integer truncation.
 */
import type { BillingPeriodMessage, MeterRecordMessage } from '../../node/src/protocol/eip712.ts'

/** value / 10^decimals with exactly `decimals` digits after the point. */
export function fixed(value: bigint, decimals: number): string {
  const negative = value < 0n
  const mag = negative ? -value : value
  const scale = 10n ** BigInt(decimals)
  const whole = (mag / scale).toString()
  const frac = decimals > 0 ? `.${(mag % scale).toString().padStart(decimals, '0')}` : ''
  return `${negative ? '-' : ''}${whole}${frac}`
}

/** Unix seconds as "YYYY-MM-DDThh:mm:ssZ". */
export function isoTime(unixSeconds: bigint | number): string {
  return `${new Date(Number(unixSeconds) * 1000).toISOString().slice(0, 19)}Z`
}

const big = (v: bigint | number): bigint => BigInt(v)
// BigInt division truncates toward zero, as C++ integer division does.
const trunc = (v: bigint | number, by: bigint): bigint => big(v) / by

export function sensorJson(r: MeterRecordMessage, signature: `0x${string}`): string {
  const hazards = Number(r.hazards)
  return [
    `{"Time":"${isoTime(r.time)}"`,
    `,"ENERGY":{"Total":${fixed(big(r.energyWh), 3)},"Power":${big(r.powerW)}`,
    `,"Voltage":${fixed(trunc(r.voltageMv, 100n), 1)},"Current":${fixed(big(r.currentMa), 3)}`,
    `,"Factor":${fixed(trunc(r.powerFactor, 10n), 2)}}`,
    `,"LM35":{"Temperature":${fixed(trunc(r.temperatureCenti, 10n), 1)}}`,
    `,"LDR":{"Light":${fixed(big(r.light), 1)}},"MQ6":{"Gas":${fixed(big(r.gas), 1)}}`,
    `,"WATER":{"Level":${fixed(big(r.water), 1)}}`,
    `,"HAZARD":{"Flame":${hazards & 1},"Gas":${(hazards >> 1) & 1},"Water":${(hazards >> 2) & 1}}`,
    `,"ZK":{"v":1,"seq":${big(r.seq)},"kind":${big(r.kind)},"time":${big(r.time)},"energyWh":${big(r.energyWh)}`,
    `,"intervalWh":${big(r.intervalWh)},"powerW":${big(r.powerW)},"voltageMv":${big(r.voltageMv)}`,
    `,"currentMa":${big(r.currentMa)},"powerFactor":${big(r.powerFactor)},"temperatureCenti":${big(r.temperatureCenti)}`,
    `,"light":${big(r.light)},"gas":${big(r.gas)},"water":${big(r.water)},"hazards":${hazards}`,
    `,"relays":${big(r.relays)},"fanSpeed":${big(r.fanSpeed)},"sig":"${signature}"}}`,
  ].join('')
}

export function periodJson(p: BillingPeriodMessage, signature: `0x${string}`): string {
  return (
    `{"v":1,"meter":"${p.meter.toLowerCase()}","periodStart":${big(p.periodStart)},"periodEnd":${big(p.periodEnd)}` +
    `,"startCounter":${big(p.startCounter)},"endCounter":${big(p.endCounter)}` +
    `,"commitment":"0x${big(p.commitment).toString(16).padStart(64, '0')}","sig":"${signature}"}`
  )
}

export function meterName(address: `0x${string}`): string {
  return `zkm_${address.slice(2).toLowerCase()}`
}
