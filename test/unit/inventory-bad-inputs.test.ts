/**
 * The bad-input corpus: every file in test/fixtures/bad-inputs must be refused with an
 * issue on the expected field whose fix contains the expected text.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkKeyFiles, InventoryError, loadInventory, parseTargetVersion } from '../../src/inventory';
import { BAD_INPUTS_DIR, badInputCases } from '../helpers/bad-inputs';

const cases = badInputCases();

test('the corpus has at least 30 cases and every file has an expectation', () => {
  expect(cases.length).toBeGreaterThanOrEqual(30);
  const files = fs.readdirSync(BAD_INPUTS_DIR).filter((f) => f.endsWith('.yaml.in'));
  expect(files.sort()).toEqual(cases.map((c) => c.file).sort());
});

describe.each(cases)('$file', (c) => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kupgrade-bad-'));
    fs.writeFileSync(path.join(tmp, 'known_hosts'), '');
    if (c.key) {
      const p = path.join(tmp, c.key.path);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, 'placeholder');
      fs.chmodSync(p, parseInt(c.key.mode, 8));
    }
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test(`refused on ${c.field}`, () => {
    const file = path.join(tmp, 'cluster.yaml');
    fs.copyFileSync(path.join(BAD_INPUTS_DIR, c.file), file);
    let err: unknown;
    try {
      const inv = loadInventory(file);
      if (c.target !== undefined) parseTargetVersion(c.target);
      else if (c.check === 'keys') checkKeyFiles(inv);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InventoryError);
    const issues = (err as InventoryError).issues;
    const hit = issues.find((i) => i.field === c.field);
    expect({ fields: issues.map((i) => i.field), hit: hit !== undefined }).toEqual(
      expect.objectContaining({ hit: true }),
    );
    expect(hit?.fix).toContain(c.fix);
    // The message names the field, so the operator sees where to look.
    expect((err as Error).message).toContain(c.field);
  });
});
