/**
 * A small HTTPS client of the real kube-apiserver for the lab's own processes (the node agent,
 * the seeding at `up`). JSON in, JSON out; watches are newline-delimited JSON events. Why not a
 * client library: the lab needs eight verbs on five resources, and no npm package may pull in
 * more than the lab uses.
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { ApiPki } from './pki';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status}: ${body.slice(0, 300)}`);
  }
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: K8sObject;
}

export interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
    creationTimestamp?: string;
  };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  status?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  data?: Record<string, string>;
}

export class ApiClient {
  private agent: https.Agent;
  readonly host: string;
  readonly port: number;

  constructor(server: string, pki: ApiPki) {
    const u = new URL(server);
    this.host = u.hostname;
    this.port = Number(u.port || 443);
    this.agent = new https.Agent({
      ca: fs.readFileSync(pki.caCrt),
      cert: fs.readFileSync(pki.adminCrt),
      key: fs.readFileSync(pki.adminKey),
      keepAlive: true,
      maxSockets: 16,
    });
  }

  request<T = K8sObject>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    timeoutMs = 30_000,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = https.request(
        {
          host: this.host,
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: {
            accept: 'application/json',
            ...(data ? { 'content-type': contentType, 'content-length': data.length } : {}),
          },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 0) >= 300)
              reject(new ApiError(res.statusCode ?? 0, text, `${method} ${path}`));
            else {
              try {
                resolve((text ? JSON.parse(text) : {}) as T);
              } catch {
                resolve(text as T); // /readyz, /healthz answer plain text
              }
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  get<T = K8sObject>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
  create(path: string, obj: unknown): Promise<K8sObject> {
    return this.request('POST', path, obj);
  }
  mergePatch(path: string, patch: unknown): Promise<K8sObject> {
    return this.request('PATCH', path, patch, 'application/merge-patch+json');
  }
  strategicPatch(path: string, patch: unknown): Promise<K8sObject> {
    return this.request('PATCH', path, patch, 'application/strategic-merge-patch+json');
  }
  delete(path: string, opts?: unknown): Promise<K8sObject> {
    return this.request('DELETE', path, opts);
  }

  /** Creates the object, or replaces its spec/data when it is there (server-side apply would need a field manager per writer). */
  async ensure(collection: string, obj: K8sObject): Promise<K8sObject> {
    try {
      return await this.create(collection, obj);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 409) throw e;
      return this.mergePatch(`${collection}/${obj.metadata.name}`, obj);
    }
  }

  /** GET /readyz until it answers 200 (or the deadline). */
  async waitReady(timeoutMs: number, isAlive: () => boolean = () => true): Promise<void> {
    const end = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < end) {
      if (!isAlive()) throw new Error(`kube-apiserver exited while starting (${last})`);
      try {
        await this.request('GET', '/readyz', undefined, undefined, 2_000);
        return;
      } catch (e) {
        last = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`kube-apiserver at ${this.host}:${this.port} not ready after ${timeoutMs} ms: ${last}`);
  }

  /**
   * Lists then watches a collection from the list's resourceVersion, re-listing when the watch
   * ends or expires (410). `onEvent` gets synthetic ADDED events for the list. Returns a stopper.
   */
  informer(
    path: string,
    onEvent: (e: WatchEvent) => void,
    onError: (e: Error) => void = () => {},
  ): () => void {
    let stopped = false;
    let current: ReturnType<typeof https.request> | null = null;
    const loop = async () => {
      while (!stopped) {
        try {
          const list = await this.get<{ metadata: { resourceVersion: string }; items: K8sObject[] }>(path);
          for (const o of list.items) onEvent({ type: 'ADDED', object: o });
          await this.watchFrom(
            path,
            list.metadata.resourceVersion,
            onEvent,
            (r) => (current = r),
            () => stopped,
          );
        } catch (e) {
          if (!stopped) onError(e as Error);
        }
        if (!stopped) await new Promise((r) => setTimeout(r, 500));
      }
    };
    void loop();
    return () => {
      stopped = true;
      current?.destroy();
    };
  }

  private watchFrom(
    path: string,
    rv: string,
    onEvent: (e: WatchEvent) => void,
    keep: (r: ReturnType<typeof https.request>) => void,
    stopped: () => boolean,
  ): Promise<void> {
    const sep = path.includes('?') ? '&' : '?';
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.host,
          port: this.port,
          method: 'GET',
          path: `${path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${rv}&timeoutSeconds=300`,
          agent: this.agent,
          headers: { accept: 'application/json' },
        },
        (res) => {
          if ((res.statusCode ?? 0) >= 300) {
            res.resume();
            reject(new ApiError(res.statusCode ?? 0, '', `watch ${path}`));
            return;
          }
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            buf += c;
            for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
              const line = buf.slice(0, i);
              buf = buf.slice(i + 1);
              if (!line.trim()) continue;
              const e = JSON.parse(line) as WatchEvent;
              if (e.type === 'ERROR') {
                res.destroy();
                resolve(); // 410 Gone and friends: re-list
                return;
              }
              if (e.type !== 'BOOKMARK' && !stopped()) onEvent(e);
            }
          });
          res.on('end', () => resolve());
          res.on('error', () => resolve());
        },
      );
      keep(req);
      req.on('error', (e) => (stopped() ? resolve() : reject(e)));
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
