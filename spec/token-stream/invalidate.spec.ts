import { expect } from 'chai';
import { firstValueFrom, of } from 'rxjs';
import { TokenStream, type Token, type TokenEvent, type TokenSource, type TokenSourceContext } from 'rx-token-stream';
import { answering, deferred, marbles } from '../support/marbles.js';

/** A source handing out T1, T2, ... and recording what it was called with. */
function counting(): { source: TokenSource; contexts: TokenSourceContext[] } {
  const contexts: TokenSourceContext[] = [];
  return {
    contexts,
    source: (context) => {
      contexts.push(context);
      return Promise.resolve({ value: `T${contexts.length}` });
    },
  };
}

describe('TokenStream invalidate', () => {
  describe('8. invalidate and the stale-401 guard', () => {
    it('refreshes once when the current token is invalidated, passing it as previous', async () => {
      const { source, contexts } = counting();
      const tokens = new TokenStream({ source });
      const t1 = await tokens.getToken();
      tokens.invalidate(t1);
      const t2 = await tokens.getToken();
      expect(t2.value).to.equal('T2');
      expect(contexts).to.have.length(2);
      expect(contexts[1]).to.include({ reason: 'invalidated', previous: t1 });
      tokens.close();
    });

    it('accepts the token value as a string', async () => {
      const { source, contexts } = counting();
      const tokens = new TokenStream({ source });
      await tokens.getToken();
      tokens.invalidate('T1');
      expect((await tokens.getToken()).value).to.equal('T2');
      expect(contexts).to.have.length(2);
      tokens.close();
    });

    it('makes 500 requests that all got a 401 for the same token cause one refresh, not 500', async () => {
      const { source, contexts } = counting();
      const tokens = new TokenStream({ source });
      const events: TokenEvent[] = [];
      tokens.events$.subscribe((event) => events.push(event));
      const held = await Promise.all(Array.from({ length: 500 }, () => tokens.getToken()));
      const retried = await Promise.all(
        held.map(async (token) => {
          tokens.invalidate(token);
          return tokens.getToken();
        }),
      );
      expect(contexts).to.have.length(2);
      expect(new Set(retried.map((token) => token.value))).to.deep.equal(new Set(['T2']));
      expect(events.filter((event) => event.type === 'invalidate-ignored')).to.have.length(499);
      tokens.close();
    });

    it('ignores a late invalidate for a token already replaced', async () => {
      const { source, contexts } = counting();
      const tokens = new TokenStream({ source });
      const events: TokenEvent[] = [];
      tokens.events$.subscribe((event) => events.push(event));
      const t1 = await tokens.getToken();
      tokens.invalidate(t1);
      const t2 = await tokens.getToken();
      tokens.invalidate(t1);
      tokens.invalidate('never-issued');
      expect(await tokens.getToken()).to.equal(t2);
      expect(contexts).to.have.length(2);
      expect(events.filter((event) => event.type === 'invalidate-ignored')).to.have.length(2);
      tokens.close();
    });

    it('does not start a second source call when the current token is invalidated during a refresh', () => {
      marbles(({ cold, expectObservable, expectSubscriptions, stream, scheduler }) => {
        const values = { a: { value: 'A', expiresAt: 100 }, b: { value: 'B', expiresAt: 1_000 } };
        const first$ = cold('a|', values);
        const background$ = cold('----b|', values);
        const source = answering(first$, background$);
        const tokens = stream({ source, refreshWindowMs: 10 });
        expectObservable(tokens.token$, '^ 199ms !').toBe('a 93ms b', values);
        scheduler.schedule(() => void tokens.getToken(), 90);
        scheduler.schedule(() => tokens.invalidate('A'), 92);
        expectObservable(tokens.token$, '93ms ^ 106ms !').toBe('94ms b', values);
        expectSubscriptions(background$.subscriptions).toBe('90ms ^---!');
        scheduler.schedule(() => expect(source.callCount).to.equal(2), 200);
      });
    });

    it('throws a TypeError for something that is neither a token nor a string', () => {
      const tokens = new TokenStream({ source: () => of({ value: 'x' }) });
      expect(() => tokens.invalidate(undefined as unknown as string)).to.throw(TypeError, /`token`/);
      expect(() => tokens.invalidate({} as Token)).to.throw(TypeError, /`token`/);
      tokens.close();
    });
  });

  describe('15. re-entrancy', () => {
    it('refreshes exactly once more when a waiter invalidates the new token inside its delivery', async () => {
      const { source, contexts } = counting();
      const tokens = new TokenStream({ source });
      const seen: string[] = [];
      const t1 = await tokens.getToken();
      const subscription = tokens.token$.subscribe((token) => {
        seen.push(token.value);
        // A cached 401 for T2, in the same callback that delivered it.
        if (token.value === 'T2') tokens.invalidate(token);
      });
      tokens.invalidate(t1);
      const t3 = await tokens.getToken();
      expect(t3.value).to.equal('T3');
      expect(seen).to.deep.equal(['T1', 'T2', 'T3']);
      expect(contexts.map((c) => [c.reason, c.previous?.value])).to.deep.equal([
        ['initial', undefined],
        ['invalidated', 'T1'],
        ['invalidated', 'T2'],
      ]);
      subscription.unsubscribe();
      tokens.close();
    });

    it('refreshes exactly once more with a synchronous source too', async () => {
      let calls = 0;
      const tokens = new TokenStream({ source: () => of({ value: `S${++calls}` }) });
      const seen: string[] = [];
      tokens.token$.subscribe((token) => {
        seen.push(token.value);
        if (token.value === 'S1') tokens.invalidate(token);
      });
      expect(seen).to.deep.equal(['S1', 'S2']);
      expect(calls).to.equal(2);
      expect((await tokens.getToken()).value).to.equal('S2');
      tokens.close();
    });

    it('hands a late subscriber the replacement when it invalidates the fresh token it is given', async () => {
      let calls = 0;
      const tokens = new TokenStream({ source: () => of({ value: `S${++calls}` }) });
      await tokens.getToken();
      const seen: string[] = [];
      const subscription = tokens.token$.subscribe((token) => {
        seen.push(token.value);
        if (token.value === 'S1') tokens.invalidate(token);
      });
      expect(seen).to.deep.equal(['S1', 'S2']);
      expect(calls).to.equal(2);
      subscription.unsubscribe();
      tokens.close();
    });

    it('does not hand the invalidated token to the waiters after the one that rejected it', async () => {
      const pending = deferred<Token>();
      let calls = 0;
      const tokens = new TokenStream({
        source: () => (++calls === 1 ? pending.promise : Promise.resolve({ value: 'C' })),
      });
      const seen: string[] = [];
      tokens.token$.subscribe((token) => {
        if (token.value === 'B') tokens.invalidate(token);
      });
      const later = firstValueFrom(tokens.token$).then((token) => seen.push(token.value));
      pending.resolve({ value: 'B' });
      await later;
      expect(seen).to.deep.equal(['C']);
      expect(calls).to.equal(2);
      tokens.close();
    });
  });
});
