/** Types of event-gen.mjs (see there). */

/** How many needle actors the log holds. */
export declare const NEEDLE_ACTORS: number;
/** How many events each needle actor has. */
export declare const NEEDLE_EVENTS: number;
/** The action of the broad search. */
export declare const BROAD_ACTION: string;
/** The share of events with BROAD_ACTION. */
export declare const BROAD_SHARE: number;

/** The id of needle actor `k`. */
export declare function needleActor(k: number): string;

/** A generator of distinct events: `next()` gives the next event's JSON text; `counts` what it gave so far. */
export interface EventGenerator {
  next(): string;
  readonly counts: { readonly events: number; readonly broad: number; readonly needle: number };
}

/** Events from `seed`; `logSize` (default 1,000,000) places the needle actors. */
export declare function eventGenerator(options: { seed: number; logSize?: number }): EventGenerator;
