import { telemetryOverhead } from './telemetry.ts';
const r = await telemetryOverhead(Number(process.argv[2] ?? 5000), Number(process.argv[3] ?? 2), (t) => process.stderr.write(t + '\n'), JSON.parse(process.argv[4] ?? '{}'));
console.log(JSON.stringify({ off: r.offHopsPerSecond, on: r.onHopsPerSecond, ratio: r.ratio, bytes: r.exportBytes }));
