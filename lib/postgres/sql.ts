/**
 * The statements of the PostgreSQL credential store, for one table (already quoted). Each
 * call of the store is one statement in its own implicit transaction: no transaction and no
 * row lock outlives a statement, so none is held while a holder calls the token endpoint.
 *
 * Values come back cast to text and are parsed and checked by row.ts, whatever type parsers
 * the pool was given and whatever the columns hold. Every change announces the key's hash on
 * the table's channel with pg_notify, which PostgreSQL delivers when the change commits.
 */

/** The table, with the checks that keep what `get` would refuse out of the columns that matter. */
export const createTable = (t: string): string => `
  CREATE TABLE IF NOT EXISTS ${t} (
    key text PRIMARY KEY,
    refresh_token text,
    version bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
    access_token jsonb,
    failure jsonb,
    fence bigint NOT NULL DEFAULT 0 CHECK (fence >= 0),
    lease_until timestamptz
  )`;

/** The columns this store reads or writes, to tell a table made by hand that lacks one. */
export const COLUMNS = ['key', 'refresh_token', 'version', 'access_token', 'failure', 'fence', 'lease_until'] as const;

/** $1 the table's name as text: its columns. */
export const tableColumns = `
  SELECT attname::text AS name FROM pg_attribute
  WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`;

/** $1 key. A row without a refresh token holds a lease only. */
export const get = (t: string): string => `
  SELECT refresh_token, version::text AS version, access_token::text AS access_token, failure::text AS failure
  FROM ${t} WHERE key = $1`;

/**
 * $1 key, $2 refresh token, $3 channel, $4 key hash. A new family: the next version, no
 * access token, no failure; a version no holder can have read (missing, negative, past
 * 2^53 - 2) starts again at 1. The lease and the fence stay, so that fences only grow.
 */
export const put = (t: string): string => `
  WITH put AS (
    INSERT INTO ${t} AS c (key, refresh_token, version) VALUES ($1, $2, 1)
    ON CONFLICT (key) DO UPDATE
    SET refresh_token = EXCLUDED.refresh_token, access_token = NULL, failure = NULL,
      version = CASE WHEN c.version BETWEEN 0 AND 9007199254740990 THEN c.version + 1 ELSE 1 END
    RETURNING c.version
  )
  SELECT version::text AS version, pg_notify($3, $4) FROM put`;

/**
 * $1 key, $2 ttl in ms. Takes the lease unless one is held until later than now on the
 * database's clock, with the next fence. ON CONFLICT locks the row and evaluates the WHERE
 * on its latest version, so of any number of concurrent calls exactly one gets a row back.
 */
export const lease = (t: string): string => `
  INSERT INTO ${t} AS c (key, fence, lease_until) VALUES ($1, 1, clock_timestamp() + $2::float8 * interval '1 millisecond')
  ON CONFLICT (key) DO UPDATE SET fence = c.fence + 1, lease_until = EXCLUDED.lease_until
  WHERE c.lease_until IS NULL OR c.lease_until <= clock_timestamp()
  RETURNING fence::text AS fence`;

// Ends the lease $fence unless `done` (a CTE of the same statement) already changed the row:
// one row updated twice in one statement is not supported. The uncorrelated NOT EXISTS is
// evaluated once, before the scan, so the row is not touched when `done` took it.
const ending = (t: string, fence: string, done: string): string => `
  ended AS (
    UPDATE ${t} SET lease_until = NULL
    WHERE key = $1 AND fence = ${fence} AND lease_until IS NOT NULL AND NOT EXISTS (SELECT FROM ${done})
    RETURNING 1
  )`;

const announce = (channel: string, hash: string, done: string): string =>
  `(SELECT pg_notify(${channel}, ${hash}) WHERE EXISTS (SELECT FROM ${done}) OR EXISTS (SELECT FROM ended)) AS notified`;

const alive = `refresh_token IS NOT NULL AND (failure IS NULL OR failure->>'reason' IS DISTINCT FROM 'reauth-required')`;

/** $1 key, $2 fence, $3 channel, $4 key hash. Ends the lease $2 if it is still the one held. */
export const release = (t: string): string => `
  WITH ended AS (UPDATE ${t} SET lease_until = NULL WHERE key = $1 AND fence = $2 AND lease_until IS NOT NULL RETURNING 1)
  SELECT pg_notify($3, $4) FROM ended`;

/**
 * $1 key, $2 version read, $3 fence, $4 refresh token, $5 access token (JSON or null),
 * $6 channel, $7 key hash. Saves only on the version read and the latest fence of a living
 * credential; ends the lease $3 either way.
 */
export const save = (t: string): string => `
  WITH saved AS (
    UPDATE ${t}
    SET refresh_token = $4, version = version + 1, access_token = $5::jsonb, failure = NULL, lease_until = NULL
    WHERE key = $1 AND version = $2 AND fence = $3 AND ${alive}
    RETURNING 1
  ), ${ending(t, '$3', 'saved')}
  SELECT EXISTS (SELECT FROM saved) AS saved, ${announce('$6', '$7', 'saved')}`;

/**
 * $1 key, $2 version read, $3 fence, $4 failure (JSON), $5 whether the access token stays,
 * $6 channel, $7 key hash. Marks only a living credential of the version read (whatever the
 * fence: a holder whose lease ran out still reports what the IdP said); ends the lease $3.
 */
export const fail = (t: string): string => `
  WITH marked AS (
    UPDATE ${t}
    SET failure = $4::jsonb, access_token = CASE WHEN $5::boolean THEN access_token END,
      lease_until = CASE WHEN fence = $3 THEN NULL ELSE lease_until END
    WHERE key = $1 AND version = $2 AND ${alive}
    RETURNING 1
  ), ${ending(t, '$3', 'marked')}
  SELECT EXISTS (SELECT FROM marked) AS marked, ${announce('$6', '$7', 'marked')}`;
