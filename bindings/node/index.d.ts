// SPDX-License-Identifier: MIT
// Types of the pixel binding (index.js) over libpixel.

/** A parameter list: an object, a Map, or [key, value] pairs (order kept, duplicates allowed). */
export type Params =
  | Record<string, string | number | boolean | bigint>
  | Map<string, string | number | boolean | bigint>
  | ReadonlyArray<readonly [string, string | number | boolean | bigint]>;

/** An Error from libpixel. */
export class PixelError extends Error {
  /** The C pixel_status value (1..10). */
  readonly status: number;
  /** Its name, e.g. "PIXEL_ERR_QUEUE_FULL". */
  readonly code: string;
}

/** The libpixel version, e.g. "0.1.0". */
export function version(): string;

/** The pixel URL for `endpoint` with `params`, plus an event id and a timestamp unless switched off. */
export function buildUrl(endpoint: string, params?: Params,
                         options?: {eventId?: boolean; timestamp?: boolean}): string;

/** The <img> tag for `url`. */
export function imgTag(url: string, options?: {style?: 'email' | 'page'}): string;

export type Outcome = 'delivered' | 'failed' | 'expired' | 'dropped';

/** What onResult receives, once per event, on the main thread. */
export interface EventResult {
  eventId: string;
  outcome: Outcome;
  attempts: number;
  httpStatus: number;
  curlCode: number;
  message: string;
}

/** Tracker options; times in milliseconds. Each maps onto one C option. */
export interface TrackerOptions {
  endpoint: string;
  queueCapacity?: number;
  overflow?: 'drop_new' | 'drop_oldest' | 'block';
  blockTimeout?: number;
  allowHttp?: boolean;
  maxInFlight?: number;
  connectTimeout?: number;
  requestTimeout?: number;
  maxAttempts?: number;
  maxAge?: number;
  shutdownTimeout?: number;
  userAgent?: string;
  caFile?: string;
  eventId?: boolean;
  timestamp?: boolean;
  onResult?: (result: EventResult) => void;
}

export interface Stats {
  queued: number;
  in_flight: number;
  delivered: number;
  retried: number;
  failed: number;
  expired: number;
  dropped: number;
}

export class Tracker {
  constructor(options: TrackerOptions);
  /** Queues one event and returns at once; throws PixelError on bad input, a full queue, or after close. */
  track(params: Params, userAgent?: string): void;
  /** Resolves true once every event tracked so far has an outcome, false after `timeoutMs`. */
  flush(timeoutMs?: number): Promise<boolean>;
  stats(): Stats;
  /** Stops accepting events, waits up to `timeoutMs`, drops the rest, releases the tracker. Idempotent. */
  close(timeoutMs?: number): Promise<void>;
}

/** The raw koffi functions, one per C function of pixel.h (for tests and advanced use). */
export const native: Record<string, (...args: unknown[]) => unknown>;
export const SIGNATURES: readonly string[];
