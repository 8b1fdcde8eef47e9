import { InvalidInputError, ZkMeterError } from '#protocol/errors.ts'

/** Base of every error the neighbourhood mesh throws on purpose. */
export class MeshError extends ZkMeterError {
  override name = 'MeshError'
}

/** A message from the mesh (or an argument for one) is malformed: wrong shape, type, size or range. */
export class InvalidMeshMessageError extends InvalidInputError {
  override name = 'InvalidMeshMessageError'
}

/** The mesh node was asked to do something before start() or after stop(). */
export class MeshNotRunningError extends MeshError {
  override name = 'MeshNotRunningError'
  override readonly category = 'unavailable'
}

/** This node has no meter key (an observer, e.g. the utility console) and was asked to act as a member. */
export class NotAMemberError extends MeshError {
  override name = 'NotAMemberError'
}

/**
 * An aggregation round cannot produce an exact, private total: too few members, a member equivocated,
 * membership views disagree, or dropout recovery did not complete. `details` says which and who.
 */
export class AggregationError extends MeshError {
  override name = 'AggregationError'
}

/** A member published two different shares for the same round; its shares are never summed. */
export class EquivocationError extends AggregationError {
  override name = 'EquivocationError'
}

/**
 * The resident's daily privacy budget (ε) cannot pay for another share that day: the home stops
 * contributing to aggregation until the next day of data (docs/aggregation.md §7).
 */
export class PrivacyBudgetSpentError extends AggregationError {
  override name = 'PrivacyBudgetSpentError'
}
