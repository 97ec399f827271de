{{/*
The gateway container and the pod volumes it mounts: used by this chart's Deployment, and by a parent
chart that adds the gateway to its own pod (sidecar.embedded, see the chart README):

  containers:
    {{- include "fhir-subscription-gateway.container" (index .Subcharts "fhir-subscription-gateway") | nindent 4 }}
  volumes:
    {{- include "fhir-subscription-gateway.volumes" (index .Subcharts "fhir-subscription-gateway") | nindent 4 }}

Each renders a YAML list item (or items) and takes the gateway chart's context.
*/}}
{{- define "fhir-subscription-gateway.container" -}}
{{- include "fhir-subscription-gateway.validate" . -}}
{{- $v := .Values -}}
{{- $fullname := include "fhir-subscription-gateway.fullname" . -}}
{{- $chartSecret := include "fhir-subscription-gateway.secretName" . -}}
- name: gateway
  image: {{ include "fhir-subscription-gateway.image" . | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  ports:
    - name: gateway
      containerPort: {{ $v.containerPort }}
      protocol: TCP
  env:
    - name: FHIR_UPSTREAM_URL
      value: {{ include "fhir-subscription-gateway.upstreamUrl" . | quote }}
    - name: PORT
      value: {{ $v.containerPort | quote }}
    - name: CONFIG_FILE
      value: {{ printf "%s/config.json" (include "fhir-subscription-gateway.configDir" .) | quote }}
    {{- if include "fhir-subscription-gateway.hasTopics" . }}
    - name: TOPICS_DIR
      value: {{ include "fhir-subscription-gateway.topicsDir" . | quote }}
    {{- end }}
    {{- with $v.tokenKeys.existingSecret }}
    - name: TOKEN_PRIVATE_KEY_FILE
      value: {{ printf "%s/%s" (include "fhir-subscription-gateway.tokenKeysDir" $) $v.tokenKeys.privateKeyKey | quote }}
    - name: TOKEN_PUBLIC_KEY_FILE
      value: {{ printf "%s/%s" (include "fhir-subscription-gateway.tokenKeysDir" $) $v.tokenKeys.publicKeyKey | quote }}
    {{- end }}
    {{- $pw := $v.redis.passwordSecret }}
    {{- $pwSecret := ternary $pw.name "" (not (or (empty $pw.name) (empty $pw.passwordKey))) }}
    {{- $sentinelPwSecret := ternary $pw.name "" (not (or (empty $pw.name) (empty $pw.sentinelPasswordKey))) }}
    {{- $secretEnv := list
      (dict "env" "TOKEN_SECRET" "existingSecret" $v.tokenSecret.existingSecret "key" $v.tokenSecret.existingSecretKey "inline" $v.tokenSecret.value)
      (dict "env" "REDIS_URL" "existingSecret" $v.redis.existingSecret "key" $v.redis.existingSecretKey "inline" $v.redis.url)
      (dict "env" "REDIS_PASSWORD" "existingSecret" $pwSecret "key" $pw.passwordKey "inline" $v.redis.password)
      (dict "env" "REDIS_SENTINEL_PASSWORD" "existingSecret" $sentinelPwSecret "key" $pw.sentinelPasswordKey "inline" $v.redis.sentinelPassword)
      (dict "env" "FHIR_UPSTREAM_AUTHORIZATION" "existingSecret" $v.upstream.existingSecret "key" $v.upstream.existingSecretKey "inline" $v.upstream.authorization) }}
    {{- range $secretEnv }}
    {{- if or .existingSecret .inline }}
    - name: {{ .env }}
      valueFrom:
        secretKeyRef:
          name: {{ .existingSecret | default $chartSecret }}
          key: {{ ternary .key .env (not (empty .existingSecret)) }}
    {{- end }}
    {{- end }}
    {{- with $v.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: gateway
    {{- toYaml $v.livenessProbe | nindent 4 }}
  readinessProbe:
    httpGet:
      path: /readyz
      port: gateway
    {{- toYaml $v.readinessProbe | nindent 4 }}
  startupProbe:
    httpGet:
      path: /healthz
      port: gateway
    {{- toYaml $v.startupProbe | nindent 4 }}
  securityContext:
    {{- $enforced := dict "runAsNonRoot" true "readOnlyRootFilesystem" true "allowPrivilegeEscalation" false "privileged" false "capabilities" (dict "drop" (list "ALL")) "seccompProfile" (dict "type" "RuntimeDefault") }}
    {{- toYaml (merge $enforced (deepCopy $v.securityContext)) | nindent 4 }}
  {{- with $v.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: fsg-tmp
      mountPath: /tmp
    - name: fsg-config
      mountPath: {{ include "fhir-subscription-gateway.configDir" . }}
      readOnly: true
    {{- if include "fhir-subscription-gateway.hasTopics" . }}
    - name: fsg-topics
      mountPath: {{ include "fhir-subscription-gateway.topicsDir" . }}
      readOnly: true
    {{- end }}
    {{- if $v.tokenKeys.existingSecret }}
    - name: fsg-token-keys
      mountPath: {{ include "fhir-subscription-gateway.tokenKeysDir" . }}
      readOnly: true
    {{- end }}
    {{- with $v.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{- define "fhir-subscription-gateway.volumes" -}}
- name: fsg-tmp
  emptyDir:
    sizeLimit: 64Mi
- name: fsg-config
  configMap:
    name: {{ include "fhir-subscription-gateway.configMapName" . }}
{{- if include "fhir-subscription-gateway.hasTopics" . }}
- name: fsg-topics
  configMap:
    name: {{ include "fhir-subscription-gateway.topicsConfigMapName" . }}
{{- end }}
{{- with .Values.tokenKeys.existingSecret }}
- name: fsg-token-keys
  secret:
    secretName: {{ . }}
    defaultMode: 0444
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod annotations that roll the pods when the config, topics or the chart's Secret change. */}}
{{- define "fhir-subscription-gateway.checksums" -}}
checksum/config: {{ include "fhir-subscription-gateway.configFile" . | sha256sum }}
checksum/topics: {{ toJson .Values.topics | sha256sum }}
checksum/secret: {{ include "fhir-subscription-gateway.inlineSecrets" . | sha256sum }}
{{- end -}}
