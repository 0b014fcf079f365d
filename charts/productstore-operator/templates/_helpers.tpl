{{/*
Helpers of the productstore-operator chart, namespaced "productstore-operator."
so a parent chart's helpers never collide with these.
*/}}

{{/* The chart's name, or nameOverride. */}}
{{- define "productstore-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The name of every resource: fullnameOverride, else "<release>-<chart>", else
the release name alone when it already contains the chart's name.
*/}}
{{- define "productstore-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "productstore-operator.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "name-version" for the helm.sh/chart label. */}}
{{- define "productstore-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the operator's pod. */}}
{{- define "productstore-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "productstore-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of every resource of the release. */}}
{{- define "productstore-operator.labels" -}}
helm.sh/chart: {{ include "productstore-operator.chart" . }}
{{ include "productstore-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: productstore
{{- end -}}

{{/* The operator's ServiceAccount. */}}
{{- define "productstore-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "productstore-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The operator's image reference: <registry>/<repository>:<tag or appVersion>. */}}
{{- define "productstore-operator.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- printf "%s/%s:%s" (.Values.image.registry | trimSuffix "/") .Values.image.repository $tag -}}
{{- end -}}

{{/* The ServiceAccount Vault reviews the stores' tokens with (vault.reviewer.create). */}}
{{- define "productstore-operator.reviewerName" -}}
{{- printf "%s-vault-reviewer" (include "productstore-operator.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Where the Vault token Secret is mounted in the operator's pod. */}}
{{- define "productstore-operator.vaultTokenDir" -}}
/var/run/secrets/productstore/vault
{{- end -}}

{{/* Where vault.servers[].caSecret and tokenSecret are mounted: <dir>/<server>/ca|token. */}}
{{- define "productstore-operator.vaultServersDir" -}}
/var/run/secrets/productstore/vault-servers
{{- end -}}

{{/* vault.servers as the operator's --vaults JSON: files instead of Secrets. */}}
{{- define "productstore-operator.vaults" -}}
{{- $dir := include "productstore-operator.vaultServersDir" . -}}
{{- $servers := list -}}
{{- range .Values.vault.servers -}}
{{- $server := dict "name" .name "address" .address "insecure" (default false .insecure) -}}
{{- with .podAddress }}{{ $_ := set $server "podAddress" . }}{{ end -}}
{{- with .authMount }}{{ $_ := set $server "authMount" . }}{{ end -}}
{{- with .kvMount }}{{ $_ := set $server "kvMount" . }}{{ end -}}
{{- with .kvPath }}{{ $_ := set $server "kvPath" . }}{{ end -}}
{{- with .rolePrefix }}{{ $_ := set $server "rolePrefix" . }}{{ end -}}
{{- if and .caSecret .caSecret.name -}}
{{- $_ := set $server "caFile" (printf "%s/%s/ca/%s" $dir .name (.caSecret.key | default "ca.crt")) -}}
{{- end -}}
{{- if and .tokenSecret .tokenSecret.name -}}
{{- $_ := set $server "tokenFile" (printf "%s/%s/token/%s" $dir .name (.tokenSecret.key | default "token")) -}}
{{- end -}}
{{- $servers = append $servers $server -}}
{{- end -}}
{{- toJson $servers -}}
{{- end -}}

{{/*
The namespaces the operator is granted, as a JSON list: operator.namespaces, or the
release's namespace when it is empty. The control plane's namespaces are refused:
a RoleBinding there would let the operator mint tokens of kube-system's accounts.
*/}}
{{- define "productstore-operator.namespaces" -}}
{{- $names := list -}}
{{- range splitList "," .Values.operator.namespaces -}}
{{- if trim . -}}
{{- $names = append $names (trim .) -}}
{{- end -}}
{{- end -}}
{{- if not $names -}}
{{- $names = list .Release.Namespace -}}
{{- end -}}
{{- range $names -}}
{{- if has . (list "kube-system" "kube-public" "kube-node-lease") -}}
{{- fail (printf "operator.namespaces: the operator never acts in %s (kube-system, kube-public and kube-node-lease belong to the control plane); name the stores' namespaces, or install the release in another namespace" .) -}}
{{- end -}}
{{- end -}}
{{- toJson (uniq $names) -}}
{{- end -}}

{{/*
The operator's environment: PRODUCTSTORE_OPERATOR_* from the values, then
operator.env, which wins. A map first, so an override replaces its key.
*/}}
{{- define "productstore-operator.env" -}}
{{- $op := .Values.operator -}}
{{- $namespaces := include "productstore-operator.namespaces" . | fromJsonArray -}}
{{- $env := dict
  "PRODUCTSTORE_OPERATOR_LOG_LEVEL" $op.logLevel
  "PRODUCTSTORE_OPERATOR_CLUSTER_DOMAIN" $op.clusterDomain
  "PRODUCTSTORE_OPERATOR_TRUST_DOMAIN" $op.trustDomain
  "PRODUCTSTORE_OPERATOR_MONITORING_NAMESPACE" $op.monitoringNamespace
  "PRODUCTSTORE_OPERATOR_NETWORK_POLICY" (toString $op.networkPolicy)
  "PRODUCTSTORE_OPERATOR_RESYNC_SECONDS" (toString (int $op.resyncSeconds))
  "PRODUCTSTORE_OPERATOR_MAX_CONCURRENT_HELM" (toString (int $op.maxConcurrentHelm))
  "PRODUCTSTORE_OPERATOR_METRICS_PORT" (toString (int .Values.ports.metrics))
  "PRODUCTSTORE_OPERATOR_HEALTH_PORT" (toString (int .Values.ports.health))
  "PRODUCTSTORE_OPERATOR_VAULT_KUBERNETES_HOST" .Values.vault.kubernetesHost
  "PRODUCTSTORE_OPERATOR_VAULTS" (include "productstore-operator.vaults" .)
-}}
{{- if $op.clusterWide -}}
{{- $_ := set $env "PRODUCTSTORE_OPERATOR_ALL_NAMESPACES" "true" -}}
{{- else -}}
{{- $_ := set $env "PRODUCTSTORE_OPERATOR_NAMESPACES" (join "," $namespaces) -}}
{{- end -}}
{{- $_ := set $env "PRODUCTSTORE_OPERATOR_ALLOWED_REGISTRIES" (join "," $op.allowedRegistries) -}}
{{- if .Values.vault.tokenSecret.name -}}
{{- $_ := set $env "PRODUCTSTORE_OPERATOR_VAULT_TOKEN_FILE" (printf "%s/%s" (include "productstore-operator.vaultTokenDir" .) .Values.vault.tokenSecret.key) -}}
{{- end -}}
{{- if .Values.vault.reviewer.create -}}
{{- $_ := set $env "PRODUCTSTORE_OPERATOR_VAULT_REVIEWER_SERVICE_ACCOUNT" (printf "%s/%s" .Release.Namespace (include "productstore-operator.reviewerName" .)) -}}
{{- /* A Vault outside the cluster also needs the cluster's CA, which every pod's token volume holds. */ -}}
{{- $_ := set $env "PRODUCTSTORE_OPERATOR_VAULT_KUBERNETES_CA_FILE" "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" -}}
{{- end -}}
{{- range $key, $value := $op.env -}}
{{- $_ := set $env $key (toString $value) -}}
{{- end -}}
{{- range $key := keys $env | sortAlpha }}
- name: {{ $key }}
  value: {{ index $env $key | quote }}
{{- end -}}
{{- end -}}
