import type { ScenarioResult } from '../report.js';

/** What the bench hands a scenario. */
export interface ScenarioContext {
  /** The reduced set that `--quick` runs. */
  quick: boolean;
  /** Reports progress (done of total steps) to the parent's progress bar. */
  progress(done: number, total: number): void;
}

/** A scenario module's one export. */
export type Scenario = (context: ScenarioContext) => Promise<ScenarioResult>;
