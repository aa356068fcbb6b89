/**
 * No Docker engine runs here, so docker-compose.yml is validated by a real Compose parser
 * (Debian's docker-compose, `docker-compose config`) and its wiring is checked.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const ROOT = path.resolve(__dirname, '../..');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  entrypoint?: string[];
  volumes?: string[];
}

describe('docker-compose.yml', () => {
  const rendered = execFileSync('docker-compose', ['-f', path.join(ROOT, 'docker-compose.yml'), 'config'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const services = (parse(rendered) as { services: Record<string, Service> }).services;

  it('has PostgreSQL, the server, admin-tools schema setup, the UI and the kupgrade worker', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'kupgrade-worker',
        'postgresql',
        'temporal',
        'temporal-namespace-setup',
        'temporal-schema-setup',
        'temporal-ui',
      ].sort(),
    );
    expect(services.temporal.image).toMatch(/^temporalio\/server:/);
    expect(services['temporal-schema-setup'].image).toMatch(/^temporalio\/admin-tools:/);
    expect(services['temporal-ui'].image).toMatch(/^temporalio\/ui:/);
    for (const s of Object.values(services)) expect(s.image ?? '').not.toMatch(/auto-setup/);
  });

  it('sets up the schema before the server starts', () => {
    expect(services.temporal.depends_on?.['temporal-schema-setup']?.condition).toBe(
      'service_completed_successfully',
    );
    expect(services.temporal.environment?.DB).toBe('postgres12');
    for (const v of services['temporal-schema-setup'].volumes ?? []) {
      expect(existsSync(v.split(':')[0])).toBe(true);
    }
  });

  it('points the worker, built from the repo Dockerfile, at the server', () => {
    const worker = services['kupgrade-worker'];
    expect(worker.build?.context).toBe(ROOT);
    expect(existsSync(path.join(ROOT, worker.build?.dockerfile ?? 'missing'))).toBe(true);
    expect(worker.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(services['temporal-ui'].environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(worker.depends_on?.['temporal-namespace-setup']?.condition).toBe('service_completed_successfully');
  });
});
