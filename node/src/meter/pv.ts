/**
 * A rooftop photovoltaic array behind the meter, as a pure function of (seed, simulated time), like
 * the household: the sun's elevation from the day of year and the local hour (seasons: long, high
 * summer days, short, low winter ones), and a weather draw per day (sunny, broken clouds, overcast,
 * more often sunny in summer) with clouds passing over the panels in minutes on unsettled days. On a
 * sunny day the array outruns the household at midday and the meter exports; at night it is 0.
 * Power is constant within a `stepSeconds` cell, so energy integrates the same for any time split.
 */
import { smooth, uniform } from './noise.ts'

export interface PvOptions {
  /** Peak power of the array in W (its nameplate, reached at a high sun on a clear day). */
  peakW: number
  seed: number
  stepSeconds: number
  /** Local time relative to UTC: solar noon is at 12:00 local time. */
  utcOffsetMinutes: number
  /** Latitude of the roof in degrees north (southern hemisphere negative). Default 48 (central Europe). */
  latitudeDeg?: number
}

export type DayWeather = 'sunny' | 'broken' | 'overcast'

export interface PvArray {
  /** AC power the array delivers at `t` (W, whole). */
  powerW(t: number): number
  /** The weather the model drew for the local day containing `t`. */
  weather(t: number): DayWeather
}

const DAY = 86_400
const RAD = Math.PI / 180
// Noise streams of their own: the array never correlates with the household's loads by accident.
const S = { weather: 41, clouds: 42, haze: 43 }

/** Day of the year (0 = 1 January) of a unix time, in the household's local time. */
function dayOfYear(localT: number): number {
  const date = new Date(localT * 1000)
  return Math.floor((localT - Date.UTC(date.getUTCFullYear(), 0, 1) / 1000) / DAY)
}

export function createPvArray(options: PvOptions): PvArray {
  const { peakW, seed, stepSeconds, utcOffsetMinutes } = options
  const latitude = (options.latitudeDeg ?? 48) * RAD
  const offset = utcOffsetMinutes * 60

  function weather(t: number): DayWeather {
    const local = t + offset
    const day = Math.floor(local / DAY)
    // Sunny days are likelier in summer: 30 % in midwinter, 70 % at midsummer (northern hemisphere).
    const summer = (1 - Math.cos(((dayOfYear(local) - 10) / 365) * 2 * Math.PI)) / 2
    const sign = latitude < 0 ? -1 : 1
    const pSunny = 0.3 + 0.4 * (sign > 0 ? summer : 1 - summer)
    const u = uniform(seed, S.weather, day)
    if (u < pSunny) return 'sunny'
    return u < pSunny + (1 - pSunny) / 2 ? 'broken' : 'overcast'
  }

  /** sin(elevation) of the sun: declination by the day of year, hour angle by local solar time. */
  function sunHeight(local: number): number {
    const declination = 23.44 * RAD * Math.sin(((2 * Math.PI) / 365) * (dayOfYear(local) - 80))
    const hourAngle = (((local % DAY) + DAY) % DAY) / 3600 - 12
    const h = hourAngle * 15 * RAD
    return (
      Math.sin(latitude) * Math.sin(declination) + Math.cos(latitude) * Math.cos(declination) * Math.cos(h)
    )
  }

  function powerW(time: number): number {
    const t = Math.floor(time / stepSeconds) * stepSeconds
    const local = t + offset
    const height = sunHeight(local)
    if (height <= 0) return 0
    // Clear-sky irradiance through the air mass 1 / sin(elevation) (Meinel's 0.7^(AM^0.678), 1 at
    // the zenith), on panels tilted toward the noon sun (√ of the sun's height: a broader curve than
    // a flat roof's), a little haze drifting over hours.
    const airMass = 0.7 ** ((1 / height) ** 0.678) / 0.7
    const clear = airMass * Math.sqrt(height) * (0.92 + 0.08 * smooth(seed, S.haze, t, 3 * 3600))
    const w = weather(t)
    let sky: number
    if (w === 'sunny') sky = 1
    else if (w === 'overcast') sky = 0.12 + 0.08 * (smooth(seed, S.clouds, t, 1800) + 1)
    else {
      // Broken clouds: minutes of full sun between shadows.
      const c = smooth(seed, S.clouds, t, 600)
      sky = c > 0 ? 1 : 0.25 + 0.5 * (c + 1)
    }
    return Math.max(0, Math.round(peakW * clear * sky))
  }

  return { powerW, weather }
}
