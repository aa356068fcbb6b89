/** Pure parsers of node command output (no I/O; workflow-safe). */
export * from './common';
export * from './kubeadm';
export * from './kubeadm-config';
export * from './kubectl';
export * from './pods';
export * from './packages';
export * from './system';
