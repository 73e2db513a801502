// Preloaded (--require) into a child process: makes `@opentelemetry/api` unresolvable, as in
// a project that did not install it, both for import (a module.register hook) and for
// require(), which module.register hooks do not reach on Node 20 and which
// rx-token-stream/otel uses. Either way Node's own resolver runs, from a directory where
// nothing is installed, and throws its own error. (spec/fixtures/without-ioredis.cjs does
// the same for ioredis.)
const Module = require('node:module');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const HIDDEN = '@opentelemetry/api';
Module.register(pathToFileURL(join(__dirname, '..', 'fixtures', 'module-hooks.mjs')), { data: { hide: [HIDDEN] } });

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, isMain, options) {
  if (request === HIDDEN) return resolveFilename.call(this, request, parent, isMain, { paths: ['/nonexistent'] });
  return resolveFilename.call(this, request, parent, isMain, options);
};
