import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { TokenStream, type TokenSource } from 'rx-token-stream';

/** What a test may replace in the orders service's token setup. */
export interface OrdersTokensSetup {
  /**
   * The clock and timers of every expiry, timeout and retry.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
  /**
   * The random share of each retry delay. A test passes 0 to know every delay exactly.
   * @default 0.5
   */
  jitter?: number;
}

/** The orders service's one TokenStream: its refresh timing is what the tests pin down. */
export function ordersTokens(source: TokenSource, setup: OrdersTokensSetup = {}): TokenStream {
  const { scheduler = asyncScheduler, jitter = 0.5 } = setup;
  return new TokenStream({
    source,
    scheduler,
    refreshWindowMs: 60_000, // refresh in the background during a token's last minute
    timeoutMs: 5_000,
    retry: { count: 2, delayMs: 1_000, jitter },
  });
}
