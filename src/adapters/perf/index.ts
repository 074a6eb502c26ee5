/** The perf engine behind `oxia-ts perf` and `npm run bench`. */
export { PERF_DEFAULTS, perfConfigProblems, shownPerfConfig, type PerfConfig } from './perf-config.js';
export { runPerf, type PerfFigures, type PerfHooks, type PerfSummary } from './perf-run.js';
export { formatInterval, formatSummary } from './perf-format.js';
export type { OperationFigures } from './latency-recorder.js';
