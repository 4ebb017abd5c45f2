import type { DriftState, Ring, VersionSketch } from './drift-monitor.js';
import { type FieldSketch, mergeInto, newFieldSketch } from './drift-sketch.js';

/**
 * Several partitions' states of one monitor as one (docs/drift.md, "Partitions"): what the API and
 * the console show. Each partition keeps its own share of the agent's traffic; the view merges them
 * version by version (all-time sketches and window slices add, bucket for bucket), orders versions
 * by when any partition first saw them, and raises the alarms any partition raised. Only states of
 * one digest (the monitor's agent, type and fields) are given; the inputs are not changed.
 */
export function mergeDriftStates(states: readonly DriftState[]): DriftState | undefined {
  if (states.length <= 1) return states[0];
  const versions = new Map<string, VersionSketch>();
  for (const s of states) {
    for (const v of s.versions) {
      const known = versions.get(v.version);
      if (known === undefined) {
        versions.set(v.version, {
          version: v.version,
          firstAt: v.firstAt,
          total: copyAll(v.total),
          ring: copyRing(v.ring),
        });
        continue;
      }
      versions.set(v.version, {
        ...known,
        firstAt: Math.min(known.firstAt, v.firstAt),
        total: addAll(known.total, v.total),
        ring: addRing(known.ring, v.ring),
      });
    }
  }
  let trailing: Ring | undefined;
  for (const s of states) {
    if (s.trailing === undefined) continue;
    trailing = trailing === undefined ? copyRing(s.trailing) : addRing(trailing, s.trailing);
  }
  return {
    ...(states[0]!.digest === undefined ? {} : { digest: states[0]!.digest }),
    versions: [...versions.values()].sort(
      (a, b) => a.firstAt - b.firstAt || (a.version < b.version ? -1 : 1),
    ),
    ...(trailing === undefined ? {} : { trailing }),
    alarmed: new Set(states.flatMap((s) => [...s.alarmed])),
  };
}

function copyAll(fields: readonly FieldSketch[]): FieldSketch[] {
  return addAll([], fields);
}

/** `into` with `from` added field by field (into's sketches are copies already, or new). */
function addAll(into: FieldSketch[], from: readonly FieldSketch[]): FieldSketch[] {
  from.forEach((f, i) => {
    while (into.length <= i) into.push(newFieldSketch());
    mergeInto(into[i]!, f);
  });
  return into;
}

function copyRing(r: Ring): Ring {
  return { sliceMs: r.sliceMs, slices: r.slices.map((s) => ({ index: s.index, fields: copyAll(s.fields) })) };
}

/** Slices of the same index add; a ring of another slice length (a window changed) is left out. */
function addRing(into: Ring, from: Ring): Ring {
  if (from.sliceMs !== into.sliceMs) return into;
  for (const s of from.slices) {
    const same = into.slices.find((x) => x.index === s.index);
    if (same === undefined) into.slices.push({ index: s.index, fields: copyAll(s.fields) });
    else addAll(same.fields, s.fields);
  }
  into.slices.sort((a, b) => a.index - b.index);
  return into;
}
