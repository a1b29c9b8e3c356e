/**
 * @module incus/lag
 * The buckets of the change-to-published lag histogram, apart from the source so that /metrics can read them
 * without loading the Incus client (undici, ws) when Incus is not configured.
 */

/** Upper bounds (seconds) of the change-to-published lag histogram. */
export const LAG_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const
export type LagVia = 'event' | 'address'
