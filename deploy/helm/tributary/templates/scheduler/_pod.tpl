{{/*
Pod spec of a scheduler run: `python -m tributary_scheduler <command>`. Call with
(dict "root" $ "command" "enqueue-due" "hook" false "serviceAccountName" "..."
"resources" {...}).
*/}}
{{- define "tributary.scheduler.podSpec" -}}
{{- $root := .root -}}
restartPolicy: Never
{{- with .serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
automountServiceAccountToken: false
{{ include "tributary.podCommon" (dict "root" $root "values" $root.Values.scheduler) }}
containers:
  - name: {{ .containerName }}
    image: {{ include "tributary.image" $root | quote }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    command:
      - python
      - -m
      - tributary_scheduler
      - {{ .command }}
    envFrom:
      {{- include "tributary.envFrom" (dict "root" $root "hook" .hook) | nindent 6 }}
    {{- with $root.Values.scheduler.extraEnv }}
    env:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    securityContext:
      {{- toYaml $root.Values.securityContext | nindent 6 }}
    {{- include "tributary.resources" .resources | nindent 4 }}
    volumeMounts:
      {{- include "tributary.tmpVolumeMount" $root | nindent 6 }}
volumes:
  {{- include "tributary.tmpVolume" $root | nindent 2 }}
{{- end }}
