// `GET /drift` as the console reads it: mirrors DriftReport and DriftMonitorView in
// src/runtime/drift-report.ts and src/runtime/drift-live.ts (the console has its own build).

/** Numeric bins carry `edges` ([low, high), null for an open end); categories and type mixes `labels`. */
export type DriftBins = {
  edges?: [number | null, number | null][];
  labels?: string[];
  baseline: number[];
  current: number[];
};

export type DriftField = {
  type: string;
  field: string;
  /** `psi` (numeric bins), `mean` (mean shift), `category` or `structure`. */
  metric: string;
  score: number;
  threshold: number;
  drifted: boolean;
  baselineCount: number;
  currentCount: number;
  baselineMean?: number;
  currentMean?: number;
  baselineP50?: number;
  currentP50?: number;
  baselineP90?: number;
  currentP90?: number;
  bins?: DriftBins;
};

export type DriftScore<T> = {
  metric: string;
  baseline: T;
  current: T;
  score: number;
  threshold: number;
  drifted: boolean;
};

export type DriftVersion = {
  agent: string;
  version: string;
  /** The version compared against (absent: no version before it). */
  baseline?: string;
  drifted: boolean;
  fields: DriftField[];
  fanout?: DriftScore<number>;
  verdicts?: DriftScore<Record<string, number>>;
  types?: DriftScore<Record<string, number>>;
};

export type DriftAlarmView = {
  monitor: string;
  /** `name@version`. */
  agent: string;
  at: number;
  baseline: string;
  current: string;
  field: string;
  metric: string;
  score: number;
  threshold: number;
  type: string;
  action: string;
  baselineCount: number;
  currentCount: number;
  baselineMean?: number;
  currentMean?: number;
  msgId?: string;
  summary?: string;
};

export type DriftMonitor = {
  id: string;
  agent: string;
  type: string;
  fields: string[];
  action: string;
  threshold: number;
  minSamples: number;
  windowMs: number;
  /** `previous`, `version:<v>` or `window:<ms>`. */
  baselineRule: string;
  version: string;
  evaluation: {
    baseline: string;
    score: number;
    field: string;
    metric: string;
    enough: boolean;
    over: boolean;
    fields: (Partial<DriftField> & { bins?: DriftBins })[];
  } | null;
  alarmed: string[];
  breakerOpen: boolean;
  alarms: DriftAlarmView[];
};

export type DriftReport = {
  agents: DriftVersion[];
  threshold: number;
  minSamples: number;
  scanned: number;
  monitors?: DriftMonitor[];
};
