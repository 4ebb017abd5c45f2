// Runs one peer in a fresh process, so no peer inherits another's heap: node child.ts <file> <pipelines> <inFlight>
const [file, pipelines, inFlight] = process.argv.slice(2);
const mod = (await import(new URL(file ?? '', import.meta.url).href)) as {
  run: (pipelines: number, inFlight: number) => Promise<unknown>;
};
process.stdout.write(`${JSON.stringify(await mod.run(Number(pipelines), Number(inFlight)))}\n`);
