import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { REPO, runCli, tempDir } from './run-cli.js';

// `run` and `up` say on stderr that they move the ledger to a newer schema version, before and after,
// whatever the log level: the move is one way (docs/ledger.md, "Schema versions").

const schemaOf = (file: string) => {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare("SELECT value FROM meta WHERE key = 'schema'").get()?.value;
  } finally {
    db.close();
  }
};

describe('a run on a ledger of an older schema version', () => {
  it('says it moves it, and that it moved it, with the log level at error', async () => {
    const data = join(tempDir('upgrade-cli'), 'data');
    const first = await runCli(['run', 'examples/retention/mesh.yaml', '--data', data], { cwd: REPO });
    expect(first.code, first.stderr).toBe(0);
    const file = join(data, 'ledger.db');
    // As version 2 left it: no tail's index.
    const db = new DatabaseSync(file);
    db.exec("DROP INDEX entries_subject_tail; UPDATE meta SET value = '2' WHERE key = 'schema'");
    const entries = Number(db.prepare('SELECT count(*) AS n FROM entries').get()?.n);
    db.close();

    const again = await runCli(['run', 'examples/retention/mesh.yaml', '--data', data], {
      cwd: REPO,
      env: { MESHWARDEN_LOG: 'error' },
    });
    expect(again.code, again.stderr).toBe(0);
    const said = again.stderr.split('\n').filter((line) => line.includes('schema version 2 to 3'));
    expect(said).toHaveLength(2);
    expect(said[0]).toContain(entries.toLocaleString('en'));
    expect(said[1]).toContain('docs/ledger.md');
    expect(schemaOf(file)).toBe('3');

    // Moved once: the next run says nothing of it.
    const third = await runCli(['run', 'examples/retention/mesh.yaml', '--data', data], { cwd: REPO });
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).not.toContain('schema version');
  });
});
