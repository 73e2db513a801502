// A holder in a process of its own, driven by spec/postgres/leases.spec.ts over IPC, so that
// the spec can pause it (SIGSTOP) between its lease and its save as a GC pause or a frozen
// VM would: { lease } answers the fence, { save } whether the save was taken.
import pg from 'pg';
import { postgresCredentialStore } from 'rx-token-stream/postgres';

const { POSTGRES_URL: url, TABLE: table = '' } = process.env;
const pool = new pg.Pool({ connectionString: url, max: 2 });
pool.on('error', () => {});
const store = postgresCredentialStore({ pool, table, listen: false });

type Request = { type: 'lease'; key: string; ttlMs: number } | { type: 'save'; key: string; version: number; fence: number; refreshToken: string };

process.on('message', (request: Request) => {
  const answer =
    request.type === 'lease'
      ? store.lease(request.key, request.ttlMs)
      : store.save(request.key, { version: request.version, fence: request.fence }, { refreshToken: request.refreshToken });
  answer.then(
    (result) => process.send?.({ ok: true, result: result ?? null }),
    (error: Error) => process.send?.({ ok: false, error: error.message }),
  );
});
process.on('disconnect', () => {
  void store.close().then(() => pool.end());
});
process.send?.({ ok: true, result: 'ready' });
