/**
 * The Ansible inventory of a lab (bench/ansible/upgrade.yml's groups `control_plane` and `workers`)
 * from its DIR/lab.json: every host with its address and port, the lab's SSH user and key, and
 * strict host-key checking against the lab's known_hosts, the same SSH kupgrade and the runbook use.
 * Written as JSON, which Ansible's YAML inventory plugin reads.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { readSpec, type LabSpec } from '../../lab/src/api';

interface HostVars {
  ansible_host: string;
  ansible_port: number;
}

export interface AnsibleInventory {
  all: {
    vars: Record<string, string>;
    children: {
      control_plane: { hosts: Record<string, HostVars> };
      workers: { hosts: Record<string, HostVars> };
    };
  };
}

function quoteSshArg(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function inventoryOf(spec: LabSpec): AnsibleInventory {
  if (!spec.ssh)
    throw new Error(`lab ${spec.name} has no ssh in lab.json: start it with sshd (kupgrade-lab up)`);
  if (spec.packages === 'apt')
    throw new Error(
      `lab ${spec.name}: packages is apt; the playbook drives yum (start the lab with --packages yum)`,
    );
  const hosts = (role: string) =>
    Object.fromEntries(
      spec.nodes
        .filter((n) => n.role === role)
        .map((n) => [n.name, { ansible_host: n.address, ansible_port: n.port }] as const),
    );
  const cps = hosts('control-plane');
  if (Object.keys(cps).length === 0) throw new Error(`lab ${spec.name} has no control plane in lab.json`);
  return {
    all: {
      vars: {
        ansible_user: spec.ssh.user,
        ansible_ssh_private_key_file: spec.ssh.clientKeyPath,
        ansible_ssh_common_args: [
          '-o',
          `UserKnownHostsFile=${quoteSshArg(spec.ssh.knownHostsPath)}`,
          '-o',
          'StrictHostKeyChecking=yes',
          '-o',
          'BatchMode=yes',
        ].join(' '),
        ansible_python_interpreter: '/usr/bin/python3',
      },
      children: { control_plane: { hosts: cps }, workers: { hosts: hosts('worker') } },
    },
  };
}

/** Writes DIR/ansible-hosts.json for the lab in DIR and returns its path. */
export function writeInventory(dir: string): string {
  const file = path.join(dir, 'ansible-hosts.json');
  writeFileSync(file, JSON.stringify(inventoryOf(readSpec(dir)), null, 2) + '\n');
  return file;
}
