import { telemetryOverhead } from './telemetry.ts';
const r = await telemetryOverhead(Number(process.argv[2] ?? 5000), Number(process.argv[3] ?? 2), (t) => process.stderr.write(t + '\n'));
console.log(JSON.stringify(r, null, 2));
