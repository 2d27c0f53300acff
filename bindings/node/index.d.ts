// SPDX-License-Identifier: MIT
// Types of the pixel binding (index.js) over libpixel.

/** A parameter list: an object, a Map, or [key, value] pairs (order kept, duplicates allowed). */
export type Params =
  | Record<string, string | number | boolean | bigint>
  | Map<string, string | number | boolean | bigint>
  | ReadonlyArray<readonly [string, string | number | boolean | bigint]>;

/** An Error from libpixel. */
export class PixelError extends Error {
  /** The C pixel_status value (1..11; 11 is PIXEL_ERR_SPOOL). */
  readonly status: number;
  /** Its name, e.g. "PIXEL_ERR_QUEUE_FULL". */
  readonly code: string;
}

/** The libpixel version, e.g. "0.1.0". */
export function version(): string;

/** The pixel URL for `endpoint` with `params`, plus an event id and a timestamp unless switched off. */
export function buildUrl(endpoint: string, params?: Params,
                         options?: {eventId?: boolean; timestamp?: boolean}): string;

/** As buildUrl, signed (kid, exp, sig) with `key` (the raw bytes, at least 16) named `kid`,
 *  valid `ttl` seconds (0 or absent: 30 days). A parameter named kid, exp or sig throws. */
export function buildSignedUrl(endpoint: string, params: Params | undefined,
                               options: {kid: string; key: Uint8Array; ttl?: number;
                                         eventId?: boolean; timestamp?: boolean}): string;

/** The sampling decision for `value` (a string, as UTF-8, or raw bytes): true when the first
 *  8 bytes of SHA-256(salt followed by value), big-endian, are below rate x 2^64. */
export function sampleKeeps(rate: number, salt: Uint8Array, value: string | Uint8Array): boolean;

/** The <img> tag for `url`. */
export function imgTag(url: string, options?: {style?: 'email' | 'page'}): string;

/** 'suppressed': tracking mode 'off', never sent (reported from track(), before it returns). */
export type Outcome = 'delivered' | 'failed' | 'expired' | 'dropped' | 'suppressed';
export const OUTCOMES: readonly Outcome[];

/** Tracking modes (docs/privacy.md), from most to least restrictive. */
export type TrackingMode = 'off' | 'aggregate' | 'pseudonymous' | 'identified';
export const TRACKING_MODES: readonly TrackingMode[];

/** Per event: its User-Agent, the mode its person consented to (absent: the tracker's
 *  ceiling), and whether the request being handled carried `Sec-GPC: 1`. */
export interface EventOptions {
  userAgent?: string;
  mode?: TrackingMode;
  gpc?: boolean;
}

/** Why an attempt got no HTTP response; 'none' when it got one, whatever its status. */
export type TransportError = 'none' | 'dns' | 'connect' | 'tls' | 'certificate' | 'timeout' |
    'reset' | 'send' | 'receive' | 'protocol' | 'other';

/** What onResult receives, once per event, on the main thread. */
export interface EventResult {
  eventId: string;
  outcome: Outcome;
  attempts: number;
  httpStatus: number;
  transportError: TransportError;
  message: string;
}

/** Tracker options; times in milliseconds. Each maps onto one C option. */
export interface TrackerOptions {
  endpoint: string;
  queueCapacity?: number;
  overflow?: 'drop_new' | 'drop_oldest' | 'block';
  blockTimeout?: number;
  allowHttp?: boolean;
  minInFlight?: number;
  maxInFlight?: number;
  workerThreads?: number;
  connectTimeout?: number;
  requestTimeout?: number;
  maxAttempts?: number;
  maxAge?: number;
  shutdownTimeout?: number;
  userAgent?: string;
  caFile?: string;
  /** A proxy URL (http://host:port, socks5://host:port); '' or absent: none. */
  proxy?: string;
  /** Retry backoff: the n-th retry waits up to min(backoffBase * 2^(n-1), backoffMax). */
  backoffBase?: number;
  backoffMax?: number;
  /** The longest Retry-After honoured; 0 ignores it. */
  retryAfterCap?: number;
  /** Consecutive endpoint failures that mean an outage (0: never), and its probe interval. */
  outageThreshold?: number;
  probeInterval?: number;
  /** Durable delivery: events also wait in a spool in this directory (created if missing),
   *  and what an earlier run left there is delivered too. A spool in use by another
   *  tracker, unwritable or corrupt throws PIXEL_ERR_SPOOL. */
  spoolDir?: string;
  /** 'memory' (default); 'batched' or 'sync' (track() returns once the event is on disk)
   *  with a spoolDir. */
  durability?: 'memory' | 'batched' | 'sync';
  /** URL and User-Agent bytes waiting in the spool, at most (0: no bound). */
  spoolMaxBytes?: number;
  eventId?: boolean;
  timestamp?: boolean;
  /** Sign every event's URL with this key (raw bytes, at least 16), named kid. */
  signingKey?: {kid: string; key: Uint8Array};
  /** Seconds a signed URL stays valid (0 or absent: 30 days). */
  signatureTtl?: number;
  onResult?: (result: EventResult) => void;
  /** The outage notice, one line at a time, on the main thread: "endpoint unreachable:
   *  <reason>; ..." when the endpoint is taken as down, "endpoint reachable again after N
   *  ms" when it is back. */
  onLog?: (message: string) => void;
  /** The ceiling on every event's mode (default 'identified'). */
  trackingMode?: TrackingMode;
  /** The parameters that name a person (default ['userid', 'email', 'recipient']). */
  identityParams?: readonly string[];
  /** The pseudonym key (raw bytes, at least 16); needed for 'pseudonymous'. */
  pseudonymKey?: Uint8Array;
  /** The most an event with gpc may carry (default 'aggregate'). */
  gpcMode?: TrackingMode;
  /** Append one JSON line per event, when it has its outcome, to this file
   *  ({"eid","outcome","status","attempts","at"}; docs/capacity.md). */
  receiptsPath?: string;
  /** Requests started per second at most (bursts of a tenth of that); 0 or absent: unpaced. */
  maxRate?: number;
  /** Deterministic sampling, in (0, 1] (default 1): an event with the sampleKey parameter
   *  is sent only when sampleKeeps(sampleRate, sampleSalt, its value), with sr=<rate>. */
  sampleRate?: number;
  /** The parameter sampled on (default 'userid'). */
  sampleKey?: string;
  /** Raw bytes hashed before the value (default none). */
  sampleSalt?: Uint8Array;
}

export interface Stats {
  queued: number;
  inFlight: number;
  delivered: number;
  retried: number;
  failed: number;
  expired: number;
  dropped: number;
  concurrencyLimit: number;
  /** Events under tracking mode 'off': never sent. */
  suppressed: number;
  /** Events lowered by the tracking-mode ceiling or GPC. */
  modeLowered: number;
  /** @deprecated use inFlight */
  in_flight: number;
  /** @deprecated use concurrencyLimit */
  concurrency_limit: number;
  /** @deprecated use modeLowered */
  mode_lowered: number;
}

export class Tracker {
  constructor(options: TrackerOptions);
  /** Queues one event and returns its id (the eid sent, and the eventId of its result) at once; throws PixelError on bad input, a full queue, or after close. */
  track(params: Params, how?: string | EventOptions): string;
  /** Resolves true once every event tracked so far has an outcome, false after `timeoutMs`. */
  flush(timeoutMs?: number): Promise<boolean>;
  stats(): Stats;
  /** Stops accepting events, waits up to `timeoutMs`, drops the rest, releases the tracker. Idempotent. */
  close(timeoutMs?: number): Promise<void>;
}

/** The raw koffi functions, one per C function of pixel.h (for tests and advanced use). */
export const native: Record<string, (...args: unknown[]) => unknown>;
export const SIGNATURES: readonly string[];
