{{/*
Names, labels and the values the other templates derive. Every helper takes the chart's own context
(or, from a parent chart, `index .Subcharts "fhir-subscription-gateway"`), so names agree wherever
they are rendered.
*/}}

{{- define "fhir-subscription-gateway.name" -}}
{{- default "fhir-subscription-gateway" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "fhir-subscription-gateway.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "fhir-subscription-gateway.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "fhir-subscription-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fhir-subscription-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "fhir-subscription-gateway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "fhir-subscription-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: gateway
{{- end -}}

{{- define "fhir-subscription-gateway.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "fhir-subscription-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "fhir-subscription-gateway.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The chart's own Secret (inline secret values) and ConfigMaps. */}}
{{- define "fhir-subscription-gateway.secretName" -}}
{{- include "fhir-subscription-gateway.fullname" . -}}
{{- end -}}
{{- define "fhir-subscription-gateway.configMapName" -}}
{{- printf "%s-config" (include "fhir-subscription-gateway.fullname" . | trunc 56 | trimSuffix "-") -}}
{{- end -}}
{{- define "fhir-subscription-gateway.topicsConfigMapName" -}}
{{- default (printf "%s-topics" (include "fhir-subscription-gateway.fullname" . | trunc 56 | trimSuffix "-")) .Values.existingTopicsConfigMap -}}
{{- end -}}

{{/* Where the chart mounts what it renders. */}}
{{- define "fhir-subscription-gateway.configDir" -}}/etc/fhir-subscription-gateway/config{{- end -}}
{{- define "fhir-subscription-gateway.topicsDir" -}}/etc/fhir-subscription-gateway/topics{{- end -}}
{{- define "fhir-subscription-gateway.tokenKeysDir" -}}/etc/fhir-subscription-gateway/token-keys{{- end -}}

{{/* "true" when topics come from a ConfigMap (the chart's or an existing one). */}}
{{- define "fhir-subscription-gateway.hasTopics" -}}
{{- if or .Values.topics .Values.existingTopicsConfigMap -}}true{{- end -}}
{{- end -}}

{{/* "true" when any form of Redis is configured. */}}
{{- define "fhir-subscription-gateway.redisEnabled" -}}
{{- $r := .Values.config.redis | default dict -}}
{{- if or .Values.redis.url .Values.redis.existingSecret $r.sentinel $r.cluster -}}true{{- end -}}
{{- end -}}

{{/* The most replicas that can run at once. */}}
{{- define "fhir-subscription-gateway.maxReplicas" -}}
{{- if .Values.autoscaling.enabled -}}{{ .Values.autoscaling.maxReplicas }}{{- else -}}{{ .Values.replicaCount }}{{- end -}}
{{- end -}}

{{/* The FHIR server's port in sidecar mode: sidecar.port, else the container's first containerPort. */}}
{{- define "fhir-subscription-gateway.sidecarPort" -}}
{{- if .Values.sidecar.port -}}
{{- .Values.sidecar.port -}}
{{- else -}}
{{- $ports := .Values.sidecar.container.ports | default list -}}
{{- if $ports -}}{{- (first $ports).containerPort -}}{{- end -}}
{{- end -}}
{{- end -}}

{{/* FHIR_UPSTREAM_URL. */}}
{{- define "fhir-subscription-gateway.upstreamUrl" -}}
{{- if eq .Values.mode "sidecar" -}}
{{- printf "http://localhost:%v%s" (include "fhir-subscription-gateway.sidecarPort" .) (.Values.sidecar.upstreamPath | trimSuffix "/") -}}
{{- else -}}
{{- .Values.upstream.url -}}
{{- end -}}
{{- end -}}

{{/* The FHIR base path clients use on the gateway. */}}
{{- define "fhir-subscription-gateway.fhirBasePath" -}}
{{- default "/fhir" .Values.config.fhirBasePath | trimSuffix "/" -}}
{{- end -}}

{{/* The config file: the user's keys plus what the chart derives when they are unset. */}}
{{- define "fhir-subscription-gateway.configFile" -}}
{{- $config := deepCopy .Values.config -}}
{{- if and (eq .Values.mode "sidecar") (not (hasKey $config "upstreamWaitMs")) -}}
{{- /* The gateway starts with its FHIR server, which can take minutes to answer. */ -}}
{{- $_ := set $config "upstreamWaitMs" 600000 -}}
{{- end -}}
{{- if and .Values.ingress.enabled .Values.ingress.hosts (not (hasKey $config "publicBaseUrl")) -}}
{{- $host := (first .Values.ingress.hosts).host -}}
{{- $scheme := "http" -}}
{{- range .Values.ingress.tls -}}{{- if has $host (.hosts | default list) -}}{{- $scheme = "https" -}}{{- end -}}{{- end -}}
{{- $_ := set $config "publicBaseUrl" (printf "%s://%s%s" $scheme $host (include "fhir-subscription-gateway.fhirBasePath" .)) -}}
{{- else if and (not .Values.sidecar.embedded) (not (hasKey $config "publicBaseUrl")) -}}
{{- /* The URL in-cluster clients use, rather than the gateway's own localhost default. */ -}}
{{- $port := ternary "" (printf ":%v" .Values.service.port) (eq (int .Values.service.port) 80) -}}
{{- $_ := set $config "publicBaseUrl" (printf "http://%s.%s.svc%s%s" (include "fhir-subscription-gateway.fullname" .) .Release.Namespace $port (include "fhir-subscription-gateway.fhirBasePath" .)) -}}
{{- end -}}
{{- toPrettyJson $config -}}
{{- end -}}

{{/* Inline secret values, by environment variable: what the chart's Secret holds. */}}
{{- define "fhir-subscription-gateway.inlineSecrets" -}}
{{- $s := dict -}}
{{- with .Values.tokenSecret.value -}}{{- $_ := set $s "TOKEN_SECRET" . -}}{{- end -}}
{{- with .Values.redis.url -}}{{- $_ := set $s "REDIS_URL" . -}}{{- end -}}
{{- with .Values.redis.password -}}{{- $_ := set $s "REDIS_PASSWORD" . -}}{{- end -}}
{{- with .Values.redis.sentinelPassword -}}{{- $_ := set $s "REDIS_SENTINEL_PASSWORD" . -}}{{- end -}}
{{- with .Values.upstream.authorization -}}{{- $_ := set $s "FHIR_UPSTREAM_AUTHORIZATION" . -}}{{- end -}}
{{- toJson $s -}}
{{- end -}}
