import { BehaviorSubject, first, lastValueFrom, Observable } from 'rxjs';
import { TokenStream } from 'rx-token-stream';
const tokens = new TokenStream({ source: async () => ({ value: 'x', expiresAt: Date.now() + 3_600_000 }) });
await tokens.getToken();
const bs = new BehaviorSubject({ value: 'x' });
const plain = new Observable<{ value: string }>((s) => { s.next({ value: 'x' }); });
const N = 300_000;
const variants: Record<string, () => unknown> = {
  'token$ first promise': () => lastValueFrom(tokens.token$.pipe(first())),
  'BehaviorSubject first promise': () => lastValueFrom(bs.pipe(first())),
  'plain Observable first promise': () => lastValueFrom(plain.pipe(first())),
  'token$ first sync': () => { let v; tokens.token$.pipe(first()).subscribe((t) => (v = t)); return v; },
  'BehaviorSubject first sync': () => { let v; bs.pipe(first()).subscribe((t) => (v = t)); return v; },
  'getToken': () => tokens.getToken(),
};
for (let r = 0; r < 3; r++) for (const [name, op] of Object.entries(variants)) {
  const t0 = performance.now(); for (let i = 0; i < N; i++) await op(); const dt = performance.now() - t0;
  if (r === 2) console.log(name.padEnd(32), Math.round(N / dt * 1000).toLocaleString());
}
tokens.close();
