{{/*
Chart name, truncated to the 63 characters a label value allows.
*/}}
{{- define "tributary.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: <release>-<chart> unless the release name already holds the
chart name. Truncated to 52 characters, so that "<fullname>-<component>-<job>" names of
CronJobs (whose Job names get an 11-character suffix) stay within 63.
*/}}
{{- define "tributary.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Name of one component's objects: <fullname>-<component>. Call with
(dict "root" $ "component" "api").
*/}}
{{- define "tributary.componentName" -}}
{{- printf "%s-%s" (include "tributary.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
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
TRIBUTARY_RECONCILE_GRACE_SECONDS: {{ $c.reconcileGraceSeconds | toString | quote }}
TRIBUTARY_SYNC_INTERVAL_MINUTES: {{ int64 $c.syncIntervalMinutes | quote }}
TRIBUTARY_MAX_BODY_BYTES: {{ int64 $c.maxBodyBytes | quote }}
TRIBUTARY_METRICS_PORT: {{ int64 $c.metricsPort | quote }}
TRIBUTARY_CONNECTORS_MODULE: {{ $c.connectorsModule | quote }}
{{- range $provider, $p := .Values.providers }}
{{- if $p.baseUrl }}
TRIBUTARY_{{ upper $provider }}_BASE_URL: {{ $p.baseUrl | quote }}
{{- end }}
{{- if $p.limits }}
TRIBUTARY_LIMITS_{{ upper $provider }}: {{ $p.limits | quote }}
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
{{- range $name, $value := dict "API_TOKEN" $s.apiToken "CRON_SECRET" $s.cronSecret "DATABASE_URL" $s.databaseUrl "REDIS_URL" $s.redisUrl }}
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
  emptyDir: {}
{{- end }}

{{/*
envFrom of every Tributary container: the ConfigMap and the Secret. Call with
(dict "root" $ "suffix" "") ; the migration hook passes "-migration" to use its own copies.
*/}}
{{- define "tributary.envFrom" -}}
- configMapRef:
    name: {{ include "tributary.fullname" .root }}{{ .suffix }}
- secretRef:
    name: {{ if .root.Values.secrets.existingSecret }}{{ .root.Values.secrets.existingSecret }}{{ else }}{{ include "tributary.fullname" .root }}{{ .suffix }}{{ end }}
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
{{- if and .Values.worker.autoscaling.enabled (not .Values.worker.autoscaling.targetCPUUtilizationPercentage) (not .Values.worker.autoscaling.queueDepth.enabled) }}
{{- fail "worker.autoscaling needs targetCPUUtilizationPercentage or queueDepth.enabled" }}
{{- end }}
{{- if and .Values.worker.keda.enabled (not .Values.worker.keda.prometheus.serverAddress) }}
{{- fail "worker.keda.prometheus.serverAddress is required when worker.keda.enabled" }}
{{- end }}
{{- range $name, $pdb := dict "api" .Values.api.pdb "worker" .Values.worker.pdb }}
{{- if and $pdb.enabled (not (kindIs "invalid" $pdb.minAvailable)) (not (kindIs "invalid" $pdb.maxUnavailable)) }}
{{- fail (printf "%s.pdb: set minAvailable or maxUnavailable, not both" $name) }}
{{- end }}
{{- end }}
{{- end }}
