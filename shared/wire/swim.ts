/**
 * Liveness updates of the membership core (SWIM + Lifeguard), as they travel between agents.
 * The pure core in agent/membership/swim/ produces and consumes them.
 */

/**
 * Why a prober suspects a member. `refused`: the member's host answered that nothing listens
 * (connection refused/reset while redialling) — strong evidence, as after kill -9. `timeout`:
 * silence only — weak evidence, as from an overloaded or stalled process, so it waits longer.
 */
export type Evidence = 'timeout' | 'refused';

/**
 * A membership change, disseminated pool-wide (published on gossipsub, signed by the originator
 * `from`). Precedence between updates about the same member follows SWIM: a higher incarnation
 * wins; at equal incarnation dead/left > suspect > alive.
 */
export type Update =
  | { kind: 'alive'; id: string; incarnation: number }
  | { kind: 'suspect'; id: string; incarnation: number; from: string; evidence: Evidence }
  | { kind: 'dead'; id: string; incarnation: number; from: string }
  | { kind: 'left'; id: string; incarnation: number };
