// The percentile of the reports, for the monitor (in a browser) and bench: one definition.
export { ascending, percentile } from '@batchlight/engine/stats';
