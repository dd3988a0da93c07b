// A run's outcome and times, for the monitor (in a browser), the CLI and the API: the engine's one definition.
export {
  OUTCOME_LABELS,
  RUN_OUTCOMES,
  type RunOutcome,
  type RunTimes,
  runOutcome,
  runTimes,
  throughput,
} from '@batchlight/engine/outcome';
