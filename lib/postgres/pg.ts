// pg, the optional peer of rx-token-stream/postgres, loaded by this entry only (see ../peer.ts).
import type * as PG from 'pg';
import { requirePeer } from '../peer.js';

/** pg's quoting of an identifier (doubles `"`), for the table name. */
export const { escapeIdentifier } = requirePeer<typeof PG>('rx-token-stream/postgres', 'pg');
