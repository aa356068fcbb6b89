/** Pure parsers of node command output and renderers of repo files (no I/O; workflow-safe). */
export * from './common';
export * from './kubeadm';
export * from './kubeadm-config';
export * from './kubectl';
export * from './pods';
export * from './packages';
export * from './system';
export * from './repo';
