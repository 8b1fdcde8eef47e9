import { InvalidInputError } from '#protocol/errors.ts'

/** A forecast input (series, season, horizon, parameters) cannot be used as given. */
export class ForecastInputError extends InvalidInputError {
  override name = 'ForecastInputError'
}
