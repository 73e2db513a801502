// Preloaded (--require) into a child process: makes `pg` unresolvable, as in a project that
// did not install it, both for import (a module.register hook) and for require(), which
// module.register hooks do not reach on Node 20 (see spec/fixtures/without-ioredis.cjs).
const Module = require('node:module');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

Module.register(pathToFileURL(join(__dirname, '../fixtures/module-hooks.mjs')), { data: { hide: ['pg'] } });

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, isMain, options) {
  if (request === 'pg') return resolveFilename.call(this, request, parent, isMain, { paths: ['/nonexistent'] });
  return resolveFilename.call(this, request, parent, isMain, options);
};
