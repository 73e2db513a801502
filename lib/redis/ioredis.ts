// ioredis, the optional peer of rx-token-stream/redis, loaded by this entry only (see ../peer.ts).
import type * as IORedis from 'ioredis';
import { requirePeer } from '../peer.js';

/** The ioredis client class. */
export const { Redis } = requirePeer<typeof IORedis>('rx-token-stream/redis', 'ioredis');
