/**
 * What an operator does when kubeadm asks for a manual component-config upgrade ("MANUAL UPGRADE
 * REQUIRED" yes in `kubeadm upgrade plan`, or `unsupported apiVersion "X", you may have to do
 * manual conversion to "Y"` from apply/node). Pure: used by activities and the node workflow.
 */

/** The kind of a component config API group, for the hint text. */
const KIND: Record<string, string> = {
  'kubelet.config.k8s.io': 'KubeletConfiguration',
  'kubeproxy.config.k8s.io': 'KubeProxyConfiguration',
};

export function manualUpgradeHints(groups: { group: string; to?: string }[]): string[] {
  const what = groups
    .map((g) => `${KIND[g.group] ?? g.group}${g.to ? ` (apiVersion ${g.to})` : ''}`)
    .join(' and ');
  return [
    `kubeadm cannot convert the cluster's ${what} itself: write a kubeadm config file on the first control plane holding it at the preferred version (the "PREFERRED VERSION" column of 'kubeadm upgrade plan'), or reset it to kubeadm's defaults.`,
    "Set kubeadm.configFile in the inventory to that file (kupgrade passes it as --config to kubeadm upgrade plan, diff, apply --dry-run and apply: the runbook's config-file path), then `kupgrade abort` and `kupgrade start` again with that inventory: the control plane has not changed yet (only the repository and the kubeadm package), and steps already done are skipped.",
    'Check it first on the node: kubeadm upgrade diff --config <file>; kubeadm upgrade apply --config <file> --dry-run.',
  ];
}
