// The specs every entry with an optional peer dependency passes (rx-token-stream/redis needs
// ioredis, /postgres needs pg, /otel needs @opentelemetry/api): the core never loads the
// peer, the entry says how to install it when it is missing, and loads no more than it needs.
import { expect } from 'chai';
import { fixture, inChild, recordingModules } from './child.js';

/** One entry and its optional peer, for {@link peerEntryContract}. */
export interface PeerEntry {
  /** The entry, as a user imports it: `rx-token-stream/redis`. */
  entry: string;
  /** The package it needs: `ioredis`. */
  peer: string;
  /** A module of lib/ that loading the entry must load, which proves the record works: `/lib/redis/shared-source.ts`. */
  own: string;
  /** What loading the entry must not load, besides the HTTP clients and lib/index.ts. */
  unwanted?: string[];
}

/** Whether importing `entry` in a fresh process loads `peer`, by import or by require. */
async function loadsPeer(entry: string, peer: string): Promise<boolean> {
  const dir = `/node_modules/${peer}/`;
  const { stdout, urls } = await recordingModules(`
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(entry)});
    const { _cache } = createRequire(import.meta.url)('node:module');
    console.log(Object.keys(_cache).some((file) => file.includes(${JSON.stringify(dir)})));
  `);
  return stdout === 'true' || urls.some((url) => url.includes(dir));
}

/** Registers, in the calling `describe`, the specs of an entry with an optional peer. */
export function peerEntryContract({ entry, peer, own, unwanted = [] }: PeerEntry): void {
  it(`keeps ${peer} out of rx-token-stream, and loads it for ${entry}`, async () => {
    const [core, loaded] = await Promise.all([loadsPeer('rx-token-stream', peer), loadsPeer(entry, peer)]);
    expect(core, `rx-token-stream loads ${peer}`).to.equal(false);
    expect(loaded, `${entry} loads ${peer}`).to.equal(true);
  });

  it(`says to install ${peer} when ${entry} is loaded without it, and rx-token-stream does without it`, async () => {
    const code = `
      try {
        await import(${JSON.stringify(entry)});
        console.log('loaded');
      } catch (error) {
        console.log(JSON.stringify({ message: error.message, code: error.code, cause: error.cause?.code }));
      }
      const { TokenStream } = await import('rx-token-stream');
      console.log(typeof TokenStream);
    `;
    const [failed, core] = (await inChild(code, ['--require', fixture('without-package.cjs')], { WITHOUT_PACKAGE: peer })).split('\n');
    expect(JSON.parse(failed as string)).to.deep.equal({
      message: `${entry} needs ${peer}: npm install ${peer}`,
      code: 'ERR_MODULE_NOT_FOUND',
      cause: 'MODULE_NOT_FOUND',
    });
    expect(core, `rx-token-stream itself does without ${peer}`).to.equal('function');
  });

  it(`loads the core modules ${entry} needs, not the whole package nor its HTTP clients`, async () => {
    const { urls } = await recordingModules(`await import(${JSON.stringify(entry)});`);
    expect(urls.some((url) => url.endsWith(own)), 'the record works').to.equal(true);
    for (const path of ['/node_modules/node-fetch/', '/node_modules/oauth4webapi/', '/lib/index.ts', ...unwanted]) {
      expect(urls.filter((url) => url.includes(path)), path).to.deep.equal([]);
    }
  });
}
