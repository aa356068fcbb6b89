/**
 * Connection settings for the CLI and the worker, the way the `temporal` CLI finds them:
 * @temporalio/envconfig profiles (~/.config/temporalio/temporal.toml, TEMPORAL_CONFIG_FILE,
 * TEMPORAL_PROFILE) overridden by TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS vars.
 */
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { TASK_QUEUE } from '../shared/names';

export interface TemporalSettings {
  connectionOptions: NativeConnectionOptions & { address: string };
  namespace: string;
  taskQueue: string;
  /** Base address of the Web UI, for links printed to the operator. */
  uiAddress: string;
}

export function temporalSettings(overrides: { address?: string; namespace?: string; profile?: string } = {}) {
  const loaded = loadClientConnectConfig({ profile: overrides.profile ?? process.env.TEMPORAL_PROFILE });
  const address = overrides.address ?? loaded.connectionOptions.address ?? 'localhost:7233';
  const namespace = overrides.namespace ?? loaded.namespace ?? 'default';
  return {
    connectionOptions: { ...loaded.connectionOptions, address },
    namespace,
    taskQueue: process.env.KUPGRADE_TASK_QUEUE ?? TASK_QUEUE,
    uiAddress: process.env.KUPGRADE_UI_ADDRESS ?? defaultUiAddress(address),
  } satisfies TemporalSettings;
}

/** The dev server serves its UI on the gRPC port + 1000 (7233 → 8233). */
function defaultUiAddress(address: string): string {
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) return 'http://localhost:8233';
  const host = m[1] === '0.0.0.0' ? 'localhost' : m[1];
  return `http://${host}:${Number(m[2]) + 1000}`;
}

export function workflowUiUrl(
  settings: Pick<TemporalSettings, 'uiAddress' | 'namespace'>,
  workflowId: string,
  runId?: string,
) {
  const base = `${settings.uiAddress}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}
