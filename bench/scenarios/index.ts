import type { Scenario } from './scenario.js';

/** A scenario as run.ts lists it; `load` imports it lazily, so a child loads only its own. */
export interface ScenarioEntry {
  load: () => Promise<Scenario>;
}

/** Every scenario, in the order the bench runs them, by the id run.ts forks a child with. */
export const scenarios: Record<string, ScenarioEntry> = {
  coalescing: { load: async () => (await import('./coalescing.js')).coalescing },
  storm: { load: async () => (await import('./storm.js')).stormScenario },
  'hot-path': { load: async () => (await import('./hot-path.js')).hotPath },
  'http-overhead': { load: async () => (await import('./http-overhead.js')).httpOverhead },
  memory: { load: async () => (await import('./memory.js')).memory },
  fleet: { load: async () => (await import('./fleet.js')).fleet },
  'many-keys': { load: async () => (await import('./many-keys.js')).manyKeys },
  adapters: { load: async () => (await import('./adapters.js')).adapters },
  'fleet-scale': { load: async () => (await import('./fleet-scale.js')).fleetScale },
};
