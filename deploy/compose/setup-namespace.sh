#!/bin/sh
# Registers the namespace and kupgrade's search attributes once the server is up.
set -eu
# The server image has no healthcheck; wait here like the samples-server compose files do.
until temporal operator cluster health >/dev/null 2>&1; do echo 'waiting for temporal:7233'; sleep 2; done
temporal operator namespace describe -n default >/dev/null 2>&1 || temporal operator namespace create -n default
for sa in KupgradeCluster KupgradeTarget KupgradePhase; do
  temporal operator search-attribute create -n default --name "$sa" --type Keyword 2>/dev/null || true
done
echo "namespace ready"
