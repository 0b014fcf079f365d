{{/*
Helpers of the productstore chart. Every helper is namespaced "productstore."
so a parent chart's helpers never collide with these.
*/}}

{{/* The chart's name, or nameOverride. */}}
{{- define "productstore.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The prefix of every resource name: fullnameOverride, else "<release>-<chart>",
else the release name alone when it already contains the chart's name.
Kept short because service names are appended and names stop at 63 characters.
*/}}
{{- define "productstore.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "productstore.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "name-version" for the helm.sh/chart label. */}}
{{- define "productstore.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Name of one service's resources. Takes (dict "root" $ "name" <service>). */}}
{{- define "productstore.componentName" -}}
{{- printf "%s-%s" (include "productstore.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select one service's pods. Takes (dict "root" $ "name" <service>). */}}
{{- define "productstore.selectorLabels" -}}
app.kubernetes.io/name: {{ include "productstore.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Labels that select every pod of the release. Takes $. */}}
{{- define "productstore.releaseSelectorLabels" -}}
app.kubernetes.io/name: {{ include "productstore.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of every resource of one service. Takes (dict "root" $ "name" <service>). */}}
{{- define "productstore.labels" -}}
helm.sh/chart: {{ include "productstore.chart" .root }}
{{ include "productstore.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: productstore
{{- end -}}

{{/* Labels of release-wide resources (no component). Takes $. */}}
{{- define "productstore.releaseLabels" -}}
helm.sh/chart: {{ include "productstore.chart" . }}
{{ include "productstore.releaseSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: productstore
{{- end -}}

{{/*
Merges the map (index . 1) into the map (index . 0), in place, key by key and
recursively. Unlike sprig's merge/mergeOverwrite it lets false, 0 and "" win,
so services.<name>.autoscaling.enabled=false overrides a true default. A null
(which the schema refuses anyway) is skipped rather than rendered.
*/}}
{{- define "productstore.deepMerge" -}}
{{- $dst := index . 0 -}}
{{- range $key, $value := index . 1 -}}
{{- if kindIs "map" $value -}}
{{- if not (kindIs "map" (index $dst $key)) -}}
{{- $_ := set $dst $key dict -}}
{{- end -}}
{{- include "productstore.deepMerge" (list (index $dst $key) $value) -}}
{{- else if not (kindIs "invalid" $value) -}}
{{- $_ := set $dst $key $value -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
One service's effective values: serviceDefaults overlaid with
services.<name>. Fills (dict "root" $ "name" <service> "out" (dict)) .out,
since templates can only return strings.
*/}}
{{- define "productstore.serviceValues" -}}
{{- $merged := deepCopy .root.Values.serviceDefaults -}}
{{- include "productstore.deepMerge" (list $merged (index .root.Values.services .name)) -}}
{{- range $key, $value := $merged -}}
{{- $_ := set $.out $key $value -}}
{{- end -}}
{{- if and $merged.autoscaling.enabled (gt (int $merged.autoscaling.minReplicas) (int $merged.autoscaling.maxReplicas)) -}}
{{- fail (printf "services.%s.autoscaling: minReplicas (%d) must not exceed maxReplicas (%d)" .name (int $merged.autoscaling.minReplicas) (int $merged.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- if and $merged.autoscaling.enabled (not ($merged.resources.requests).cpu) -}}
{{- fail (printf "services.%s.autoscaling is enabled but services.%s.resources.requests.cpu is unset: the CPU target is a percentage of it" .name .name) -}}
{{- end -}}
{{- if not $merged.image.name -}}
{{- fail (printf "services.%s.image.name is empty: name the service's image" .name) -}}
{{- end -}}
{{- end -}}

{{/* Sorted names of the enabled services as a JSON list (templates return strings): use with fromJsonArray. */}}
{{- define "productstore.enabledServices" -}}
{{- $names := list -}}
{{- range $name, $svc := .Values.services -}}
{{- if $svc.enabled -}}
{{- $names = append $names $name -}}
{{- end -}}
{{- end -}}
{{- toJson $names -}}
{{- end -}}

{{/* The ServiceAccount of one service. Takes (dict "root" $ "name" <service> "svc" <values>). */}}
{{- define "productstore.serviceAccountName" -}}
{{- if .svc.serviceAccount.name -}}
{{- .svc.serviceAccount.name -}}
{{- else if .svc.serviceAccount.create -}}
{{- include "productstore.componentName" . -}}
{{- else -}}
default
{{- end -}}
{{- end -}}

{{/* The image reference of one service. Takes (dict "root" $ "svc" <values>). */}}
{{- define "productstore.image" -}}
{{- $tag := .svc.image.tag | default .root.Values.global.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s/%s:%s" (.root.Values.global.image.registry | trimSuffix "/") .svc.image.name $tag -}}
{{- end -}}

{{/* In-cluster base URL of one service. Takes (dict "root" $ "name" <service> "svc" <values>). */}}
{{- define "productstore.serviceURL" -}}
{{- printf "http://%s.%s.svc:%d" (include "productstore.componentName" .) .root.Release.Namespace (int .svc.port) -}}
{{- end -}}

{{/* Cluster-local host name of one service. Takes (dict "root" $ "name" <service>). */}}
{{- define "productstore.serviceHost" -}}
{{- printf "%s.%s.svc.cluster.local" (include "productstore.componentName" .) .root.Release.Namespace -}}
{{- end -}}

{{/*
The environment of one service (the data of its ConfigMap): shared config,
the URLs of the other enabled services, then services.<name>.env, which wins.
Takes (dict "root" $ "name" <service> "svc" <values>).
*/}}
{{- define "productstore.configData" -}}
{{- $cfg := .root.Values.config -}}
{{- $data := dict
  "SERVICE_NAME" .name
  "PORT" (toString (int .svc.port))
  "LOG_LEVEL" $cfg.logLevel
  "CASSANDRA_CONTACT_POINTS" $cfg.cassandra.contactPoints
  "CASSANDRA_PORT" (toString (int $cfg.cassandra.port))
  "CASSANDRA_LOCAL_DC" $cfg.cassandra.localDatacenter
  "CASSANDRA_KEYSPACE" (printf "%s_%s" $cfg.cassandra.keyspace .name)
  "KAFKA_BOOTSTRAP_SERVERS" $cfg.kafka.bootstrapServers
  "REDIS_URL" $cfg.redis.url
  "OTEL_SERVICE_NAME" .name
  "OTEL_TRACES_EXPORTER" (ternary "otlp" "none" $cfg.tracing.enabled)
  "OTEL_EXPORTER_OTLP_ENDPOINT" $cfg.tracing.endpoint
  "OTEL_EXPORTER_OTLP_PROTOCOL" "http/protobuf"
  "OTEL_TRACES_SAMPLER" "parentbased_traceidratio"
  "OTEL_TRACES_SAMPLER_ARG" (toString $cfg.tracing.sampleRatio)
  "TRUSTED_PROXIES" (trim $cfg.trustedProxies)
-}}
{{- /*
Outside development the services neither migrate nor create topics unless told:
say it either way, so a pod never starts against tables nobody created.
*/ -}}
{{- $prefix := printf "%s_" (upper .name) -}}
{{- $_ := set $data (print $prefix "MIGRATE_ON_START") (toString $cfg.migrations.onStart) -}}
{{- $_ := set $data (print $prefix "CASSANDRA_REPLICATION") $cfg.cassandra.replication -}}
{{- $_ := set $data (print $prefix "CREATE_TOPICS") (toString $cfg.kafka.createTopics) -}}
{{- if .root.Values.vault.enabled -}}
{{- $_ := set $data "SECRETS_DIR" "/vault/secrets" -}}
{{- end -}}
{{- if include "productstore.authVaultKeys" . -}}
{{- /*
auth creates and rotates its signing keys in Vault KV v2 itself, logging in with
Kubernetes auth as role <rolePrefix>auth; the keys sit at auth/signing-keys below
secretPath (the path the operator's policy lets auth read, create and update).
*/ -}}
{{- $vault := .root.Values.vault -}}
{{- $kv := splitn "/data/" 2 $vault.secretPath -}}
{{- $_ := set $data "AUTH_VAULT_ADDR" $vault.address -}}
{{- $_ := set $data "AUTH_VAULT_ROLE" (printf "%sauth" $vault.rolePrefix) -}}
{{- $_ := set $data "AUTH_VAULT_KUBERNETES_MOUNT" ($vault.authPath | trimPrefix "auth/") -}}
{{- $_ := set $data "AUTH_VAULT_KV_MOUNT" $kv._0 -}}
{{- $_ := set $data "AUTH_VAULT_KEYS_PATH" (printf "%s/auth/signing-keys" ($kv._1 | trimSuffix "/")) -}}
{{- end -}}
{{- range $other := include "productstore.enabledServices" .root | fromJsonArray -}}
{{- $otherValues := dict -}}
{{- include "productstore.serviceValues" (dict "root" $.root "name" $other "out" $otherValues) -}}
{{- $key := printf "%s_SERVICE_URL" ($other | upper) -}}
{{- $url := include "productstore.serviceURL" (dict "root" $.root "name" $other "svc" $otherValues) -}}
{{- $_ := set $data $key $url -}}
{{- if eq $other "auth" -}}
{{- /* Every service verifies access tokens with auth's public keys. */ -}}
{{- $_ := set $data "JWT_JWKS_URL" (printf "%s/api/auth/.well-known/jwks.json" $url) -}}
{{- end -}}
{{- end -}}
{{- range $key, $value := .svc.env -}}
{{- $_ := set $data $key (toString $value) -}}
{{- end -}}
{{- toYaml $data -}}
{{- end -}}

{{/*
"true" when this service is auth and vault.address is set: auth then keeps its
signing keys in Vault and logs in with its ServiceAccount token, whether or not
the agent injector runs. Takes (dict "root" $ "name" <service> ...).
*/}}
{{- define "productstore.authVaultKeys" -}}
{{- if and (eq .name "auth") .root.Values.vault.address -}}true{{- end -}}
{{- end -}}

{{/* The Istio principal of a caller ("gateway" or a service). Takes (dict "root" $ "name" <caller>). */}}
{{- define "productstore.principal" -}}
{{- $istio := .root.Values.istio -}}
{{- if and (eq .name "gateway") .root.Values.gateway.enabled -}}
{{- printf "%s/ns/%s/sa/%s" $istio.trustDomain .root.Release.Namespace (include "productstore.gatewayServiceAccount" .root) -}}
{{- else if eq .name "gateway" -}}
{{- printf "%s/ns/%s/sa/%s" $istio.trustDomain .root.Values.gateway.namespace .root.Values.gateway.serviceAccount -}}
{{- else -}}
{{- $caller := dict -}}
{{- include "productstore.serviceValues" (dict "root" .root "name" .name "out" $caller) -}}
{{- $sa := include "productstore.serviceAccountName" (dict "root" .root "name" .name "svc" $caller) -}}
{{- printf "%s/ns/%s/sa/%s" $istio.trustDomain .root.Release.Namespace $sa -}}
{{- end -}}
{{- end -}}

{{/* One service's Istio traffic policy: istio.traffic overlaid with services.<name>.istio. Fills .out. */}}
{{- define "productstore.traffic" -}}
{{- $merged := deepCopy .root.Values.istio.traffic -}}
{{- include "productstore.deepMerge" (list $merged .svc.istio) -}}
{{- range $key, $value := $merged -}}
{{- $_ := set $.out $key $value -}}
{{- end -}}
{{- end -}}

{{/*
"true" when the chart adds the Vault agent to this service's pods: vault.enabled,
vault.injection "agent", and at least one file in its vaultSecrets. Takes (dict
"root" $ "name" <service> "svc" <values>).
*/}}
{{- define "productstore.vaultAgent" -}}
{{- $vault := .root.Values.vault -}}
{{- if and $vault.enabled (eq $vault.injection "agent") -}}
{{- range $file, $key := merge (dict) (.svc.vaultSecrets | default dict) (.svc.vaultProvided | default dict) -}}
{{- if $key -}}true{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The agent template of a secret an administrator provides (vaultProvided, ADR
0039): it lists the key's folder first and reads the entry only when it is
there, so a missing entry renders an empty file instead of an agent retrying
until the init container fails. Takes (dict "root" $ "key" <KV key>).
*/}}
{{- define "productstore.vaultProvidedTemplate" -}}
{{- $secretPath := .root.Values.vault.secretPath | trimSuffix "/" -}}
{{- $path := printf "%s/%s" $secretPath .key -}}
{{- $folder := printf "%s/%s/" (regexReplaceAll "^(.*?)/data/" $secretPath "${1}/metadata/") (dir .key) -}}
{{- printf "{{- range secrets %q -}}{{- if eq . %q -}}{{- with secret %q -}}{{ .Data.data | toJSON }}{{- end -}}{{- end -}}{{- end -}}" $folder (base .key) $path -}}
{{- end -}}

{{/* The Vault agent's image reference. Takes (dict "root" $). */}}
{{- define "productstore.vaultAgentImage" -}}
{{- $vault := .root.Values.vault -}}
{{- if $vault.agentImage -}}
{{- $vault.agentImage -}}
{{- else -}}
{{- $tag := .root.Values.global.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s/productstore-vault-agent:%s" (.root.Values.global.image.registry | trimSuffix "/") $tag -}}
{{- end -}}
{{- end -}}

{{/*
The `bao agent` configuration of one service, as JSON (the agent reads JSON as
HCL): Kubernetes auth with the pod's ServiceAccount token as the service's role,
and one template per vaultSecrets file that writes the KV entry's data as JSON to
/vault/secrets/<file>, which the services' settings read (and per vaultProvided
file, empty while an administrator has not written the entry). No sink: the agent's
Vault token stays in its memory. Configuration only, no secret. Takes (dict
"root" $ "name" <service> "svc" <values>).
*/}}
{{- define "productstore.vaultAgentConfig" -}}
{{- $vault := .root.Values.vault -}}
{{- if not $vault.address -}}
{{- fail "vault.injection is \"agent\" but vault.address is empty: set the Vault API URL the pods' agent logs in to" -}}
{{- end -}}
{{- $templates := list -}}
{{- range $file, $key := .svc.vaultSecrets -}}
{{- if $key -}}
{{- $path := printf "%s/%s" ($vault.secretPath | trimSuffix "/") $key -}}
{{- $templates = append $templates (dict
  "destination" (printf "/vault/secrets/%s" $file)
  "contents" (printf "{{- with secret %q -}}{{ .Data.data | toJSON }}{{- end -}}" $path)
  "perms" "0400"
  "error_on_missing_key" true) -}}
{{- end -}}
{{- end -}}
{{- range $file, $key := .svc.vaultProvided -}}
{{- if $key -}}
{{- $templates = append $templates (dict
  "destination" (printf "/vault/secrets/%s" $file)
  "contents" (include "productstore.vaultProvidedTemplate" (dict "root" $.root "key" $key))
  "perms" "0400"
  "error_on_missing_key" true) -}}
{{- end -}}
{{- end -}}
{{- $config := dict
  "vault" (dict "address" $vault.address)
  "auto_auth" (dict "method" (list (dict
    "type" "kubernetes"
    "mount_path" $vault.authPath
    "config" (dict "role" (printf "%s%s" $vault.rolePrefix .name)))))
  "template_config" (dict
    "exit_on_retry_failure" true
    "static_secret_render_interval" $vault.agentRenderInterval)
  "template" $templates -}}
{{- toPrettyJson $config -}}
{{- end -}}

{{/* The ServiceAccount of the chart's own gateway (gateway.enabled). Takes $. */}}
{{- define "productstore.gatewayServiceAccount" -}}
{{- include "productstore.componentName" (dict "root" . "name" "gateway") -}}
{{- end -}}

{{/* The gateway's image: gateway.image.name under global.image.registry, tag gateway.image.tag or the global tag. Takes $. */}}
{{- define "productstore.gatewayImage" -}}
{{- $image := .Values.gateway.image -}}
{{- $tag := $image.tag | default .Values.global.image.tag | default .Chart.AppVersion -}}
{{- printf "%s/%s:%s" (.Values.global.image.registry | trimSuffix "/") $image.name $tag -}}
{{- end -}}

{{/*
Labels that select the gateway's pods. Its app.kubernetes.io/name is "<name>-gateway",
not the release's: the release-wide default-deny NetworkPolicy and the STRICT
PeerAuthentication must not select the store's entry point, which takes plain HTTP
from outside the mesh (it has policies of its own). Takes $.
*/}}
{{- define "productstore.gatewaySelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-gateway" (include "productstore.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: gateway
{{- end -}}

{{/* Labels of every resource of the gateway. Takes $. */}}
{{- define "productstore.gatewayLabels" -}}
helm.sh/chart: {{ include "productstore.chart" . }}
{{ include "productstore.gatewaySelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: productstore
{{- end -}}
