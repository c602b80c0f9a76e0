{{/*
Chart name, truncated to the 63 characters a label value allows.
*/}}
{{- define "tributary.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
A valid, unique object name for every release name Helm accepts (up to 53 characters of
[a-z0-9-.]). Call with (dict "name" "<wanted name>" "max" 63): dots become dashes, a name
not starting with a letter gets a "t" (Service names are DNS-1035 labels), and a name
longer than max is cut and ends in 8 hex digits of the wanted name's sha256, so two long
names that differ only at the end stay different.
*/}}
{{- define "tributary.dnsName" -}}
{{- $max := int (default 63 .max) -}}
{{- $name := .name | lower | replace "." "-" | replace "_" "-" -}}
{{- if not (regexMatch "^[a-z]" $name) }}{{ $name = printf "t%s" $name }}{{ end -}}
{{- if gt (len $name) $max -}}
{{- $name = printf "%s-%s" (regexReplaceAll "-+$" ($name | trunc (int (sub $max 9))) "") (.name | sha256sum | trunc 8) -}}
{{- end -}}
{{- regexReplaceAll "-+$" $name "" -}}
{{- end }}

{{/*
The release's name prefix, not yet cut: <release>-<chart> unless the release name already
holds the chart name. Every object name is made from it with "tributary.dnsName".
*/}}
{{- define "tributary.prefix" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Name of the release's shared objects (ConfigMap, Secret, ServiceAccount).
*/}}
{{- define "tributary.fullname" -}}
{{- include "tributary.dnsName" (dict "name" (include "tributary.prefix" .) "max" 63) }}
{{- end }}

{{/*
Name of one component's objects: <prefix>-<component>[-<suffix>], at most max characters
(63; CronJobs 52, as their Jobs add 11). Call with
(dict "root" $ "component" "api") or (dict "root" $ "component" "scheduler" "suffix" "cleanup" "max" 52).
*/}}
{{- define "tributary.componentName" -}}
{{- $name := printf "%s-%s" (include "tributary.prefix" .root) .component -}}
{{- if .suffix }}{{ $name = printf "%s-%s" $name .suffix }}{{ end -}}
{{- include "tributary.dnsName" (dict "name" $name "max" (default 63 .max)) }}
{{- end }}

{{- define "tributary.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "tributary.labels" -}}
helm.sh/chart: {{ include "tributary.chart" . }}
{{ include "tributary.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tributary
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "tributary.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tributary.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels and selector labels of one component. Call with (dict "root" $ "component" "api").
*/}}
{{- define "tributary.componentLabels" -}}
{{ include "tributary.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "tributary.componentSelectorLabels" -}}
{{ include "tributary.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "tributary.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tributary.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tributary.secretName" -}}
{{- default (include "tributary.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "tributary.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Non-secret settings: the ConfigMap's data. Every key is an environment variable read by
libs/common/tributary_common/settings.py.
*/}}
{{- define "tributary.configData" -}}
{{- $c := .Values.config -}}
TRIBUTARY_NAMESPACE: {{ $c.namespace | quote }}
LOG_LEVEL: {{ $c.logLevel | quote }}
TRIBUTARY_HTTP_TIMEOUT_SECONDS: {{ $c.httpTimeoutSeconds | toString | quote }}
TRIBUTARY_MAX_RETRIES: {{ int64 $c.maxRetries | quote }}
TRIBUTARY_BACKOFF_BASE_SECONDS: {{ $c.backoffBaseSeconds | toString | quote }}
TRIBUTARY_JOB_LEASE_SECONDS: {{ $c.jobLeaseSeconds | toString | quote }}
TRIBUTARY_SHUTDOWN_GRACE_SECONDS: {{ $c.shutdownGraceSeconds | toString | quote }}
TRIBUTARY_HEARTBEAT_TIMEOUT_MS: {{ int64 $c.heartbeatTimeoutMs | quote }}
TRIBUTARY_CRASH_LIMIT: {{ int64 $c.crashLimit | quote }}
TRIBUTARY_RETENTION_DAYS: {{ int64 $c.retentionDays | quote }}
{{- if hasKey $c "deadLetterRetentionDays" }}
TRIBUTARY_DEAD_LETTER_RETENTION_DAYS: {{ int64 $c.deadLetterRetentionDays | quote }}
{{- end }}
TRIBUTARY_THROTTLE_HORIZON_SECONDS: {{ $c.throttleHorizonSeconds | toString | quote }}
TRIBUTARY_RECONCILE_GRACE_SECONDS: {{ $c.reconcileGraceSeconds | toString | quote }}
TRIBUTARY_SYNC_INTERVAL_MINUTES: {{ int64 $c.syncIntervalMinutes | quote }}
TRIBUTARY_MAX_BODY_BYTES: {{ int64 $c.maxBodyBytes | quote }}
TRIBUTARY_METRICS_PORT: {{ int64 $c.metricsPort | quote }}
TRIBUTARY_CONNECTORS_MODULE: {{ $c.connectorsModule | quote }}
TRIBUTARY_REQUIRED_SETTINGS: {{ join "," $c.requiredSettings | quote }}
TRIBUTARY_WEBHOOK_DEBOUNCE_SECONDS: {{ $c.webhooks.debounceSeconds | toString | quote }}
TRIBUTARY_WEBHOOK_MAX_BODY_BYTES: {{ int64 $c.webhooks.maxBodyBytes | quote }}
TRIBUTARY_WEBSUB_LEASE_SECONDS: {{ int64 $c.webhooks.websubLeaseSeconds | quote }}
TRIBUTARY_WEBSUB_RENEW_BEFORE_SECONDS: {{ int64 $c.webhooks.websubRenewBeforeSeconds | quote }}
{{- with $c.webhooks.websubCallbackUrl }}
TRIBUTARY_WEBSUB_CALLBACK_URL: {{ . | quote }}
{{- end }}
{{- with $c.webhooks.websubHubUrl }}
TRIBUTARY_WEBSUB_HUB_URL: {{ . | quote }}
{{- end }}
TRIBUTARY_EVENTS_TIMEOUT_SECONDS: {{ $c.events.timeoutSeconds | toString | quote }}
TRIBUTARY_EVENTS_DISABLE_AFTER_SECONDS: {{ $c.events.disableAfterSeconds | toString | quote }}
TRIBUTARY_EVENTS_ALLOW_HTTP: {{ $c.events.allowHttp | toString | quote }}
{{- with $c.events.retrySchedule }}
TRIBUTARY_EVENTS_RETRY_SCHEDULE: {{ . | quote }}
{{- end }}
TRIBUTARY_REFRESH_MARGIN_SECONDS: {{ $c.refreshMarginSeconds | toString | quote }}
TRIBUTARY_REFRESH_LOCK_SECONDS: {{ $c.refreshLockSeconds | toString | quote }}
{{- range $provider, $p := .Values.providers }}
{{- if $p.baseUrl }}
TRIBUTARY_{{ upper $provider }}_BASE_URL: {{ $p.baseUrl | quote }}
{{- end }}
{{- if $p.limits }}
TRIBUTARY_LIMITS_{{ upper $provider }}: {{ $p.limits | quote }}
{{- end }}
{{- if $p.tokenUrl }}
TRIBUTARY_{{ upper $provider }}_TOKEN_URL: {{ $p.tokenUrl | quote }}
{{- end }}
{{- if $p.authorizeUrl }}
TRIBUTARY_{{ upper $provider }}_AUTHORIZE_URL: {{ $p.authorizeUrl | quote }}
{{- end }}
{{- end }}
{{- range $name, $value := $c.extraEnv }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/*
Secret settings: the Secret's stringData. Empty values are left out (the code's defaults
apply and NOTES.txt warns), so the chart renders with its default values.
*/}}
{{- define "tributary.secretData" -}}
{{- $s := .Values.secrets -}}
{{- $w := $s.webhooks }}
{{- range $name, $value := dict "API_TOKEN" $s.apiToken "CRON_SECRET" $s.cronSecret "DATABASE_URL" $s.databaseUrl "REDIS_URL" $s.redisUrl "TRIBUTARY_WEBHOOK_GITHUB_SECRET" $w.githubSecret "TRIBUTARY_WEBHOOK_META_APP_SECRET" $w.metaAppSecret "TRIBUTARY_WEBHOOK_META_VERIFY_TOKEN" $w.metaVerifyToken "TRIBUTARY_WEBHOOK_YOUTUBE_SECRET" $w.youtubeSecret "TRIBUTARY_ENCRYPTION_KEYS" $s.encryptionKeys }}
{{- if $value }}
{{ $name }}: {{ $value | quote }}
{{- end }}
{{- end }}
{{- range $provider, $p := .Values.providers }}
{{- range $suffix, $value := $p.credentials }}
TRIBUTARY_{{ upper $provider }}_{{ $suffix }}: {{ $value | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Container securityContext and the volumes every container needs with a read-only root
filesystem: a writable /tmp (gunicorn's heartbeat files, Python's tempfile).
*/}}
{{- define "tributary.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{- define "tributary.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.emptyDirSizeLimit }}
{{- end }}

{{/*
The checksum/secret annotation: of the rendered Secret's data, or of
secrets.existingSecretVersion when the Secret is someone else's (the chart cannot read it).
*/}}
{{- define "tributary.secretChecksum" -}}
{{- if .Values.secrets.existingSecret -}}
{{- printf "%s/%s" .Values.secrets.existingSecret .Values.secrets.existingSecretVersion | sha256sum -}}
{{- else -}}
{{- include "tributary.secretData" . | sha256sum -}}
{{- end -}}
{{- end }}

{{/*
A pod's or container's resources, left out when empty. Call with the resources value.
*/}}
{{- define "tributary.resources" -}}
{{- with . }}
resources:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
envFrom of every Tributary container: the ConfigMap and the Secret. Call with
(dict "root" $ "hook" false); the migration hook passes true to use its own copies.
*/}}
{{- define "tributary.envFrom" -}}
{{- $own := ternary (include "tributary.componentName" (dict "root" .root "component" "migration" "suffix" "env")) (include "tributary.fullname" .root) (default false .hook) -}}
- configMapRef:
    name: {{ $own }}
- secretRef:
    name: {{ default $own .root.Values.secrets.existingSecret }}
{{- end }}

{{/*
A worker pod's capacity: processes x threads, the backlog one pod works off at once.
*/}}
{{- define "tributary.workerCapacity" -}}
{{- mul (int .Values.worker.processes) (int .Values.worker.threads) -}}
{{- end }}

{{/*
Pod-level fields shared by every Tributary pod. Call with
(dict "root" $ "values" .Values.worker).
*/}}
{{- define "tributary.podCommon" -}}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Guard against values that render but cannot work.
*/}}
{{- define "tributary.validate" -}}
{{- if and .Values.worker.autoscaling.enabled .Values.worker.keda.enabled }}
{{- fail "worker.autoscaling.enabled and worker.keda.enabled are mutually exclusive: KEDA manages its own HPA" }}
{{- end }}
{{- /* The worker gives Dramatiq TRIBUTARY_SHUTDOWN_GRACE_SECONDS + 5 s to stop its threads. */}}
{{- if le (int .Values.worker.terminationGracePeriodSeconds) (add 5 (int (ceil .Values.config.shutdownGraceSeconds))) }}
{{- fail "worker.terminationGracePeriodSeconds must exceed config.shutdownGraceSeconds + 5, or Kubernetes kills workers mid-job" }}
{{- end }}
{{- if and .Values.worker.autoscaling.enabled .Values.worker.autoscaling.targetCPUUtilizationPercentage (not (dig "requests" "cpu" "" .Values.worker.resources)) }}
{{- fail "worker.autoscaling.targetCPUUtilizationPercentage needs worker.resources.requests.cpu: utilisation is measured against the request" }}
{{- end }}
{{- if lt (int .Values.api.threads) 2 }}
{{- fail "api.threads must be at least 2: a process-queue request holds a thread for up to 20 s and the probes need another" }}
{{- end }}
{{- if le (int .Values.api.terminationGracePeriodSeconds) (add (int .Values.api.preStopSeconds) (int .Values.api.gracefulTimeoutSeconds)) }}
{{- fail "api.terminationGracePeriodSeconds must exceed api.preStopSeconds + api.gracefulTimeoutSeconds, or Kubernetes kills requests gunicorn is still finishing" }}
{{- end }}
{{- with .Values.networkPolicy }}
{{- if and .enabled .apiIngressFrom (not .metricsFrom) }}
{{- fail "networkPolicy.apiIngressFrom is set but networkPolicy.metricsFrom is empty: the api serves /metrics on its own port, so list your Prometheus in metricsFrom or it is cut off" }}
{{- end }}
{{- end }}
{{- if .Values.api.ingress.enabled }}
{{- range .Values.api.ingress.hosts }}
{{- range .paths }}
{{- $path := .path | default "/" }}
{{- $type := .pathType }}
{{- range $private := list "/metrics" "/readyz" }}
{{- if or (eq $path $private) (and (ne $type "Exact") (hasPrefix $path $private)) }}
{{- fail (printf "api.ingress path %q (%s) would publish %s: route /api (and /openapi.json) instead" $path $type $private) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.worker.keda.enabled (not .Values.worker.keda.prometheus.serverAddress) }}
{{- fail "worker.keda.prometheus.serverAddress is required when worker.keda.enabled" }}
{{- end }}
{{- range $name, $pdb := dict "api" .Values.api.pdb "worker" .Values.worker.pdb }}
{{- if and $pdb.enabled (has (toString $pdb.maxUnavailable) (list "0" "0%")) }}
{{- fail (printf "%s.pdb.maxUnavailable must allow at least one eviction, or the PodDisruptionBudget blocks every drain" $name) }}
{{- end }}
{{- end }}
{{- end }}
