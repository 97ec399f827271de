{{/*
Combinations values.schema.json cannot express, refused at render time with what to change: a
gateway that would crash at start or silently lose notifications is never deployed.
*/}}
{{- define "fhir-subscription-gateway.validate" -}}
{{- $v := .Values -}}
{{- $redis := include "fhir-subscription-gateway.redisEnabled" . -}}
{{- $cfgRedis := $v.config.redis | default dict -}}
{{- $max := include "fhir-subscription-gateway.maxReplicas" . | int -}}

{{- if and (gt $max 1) (not $redis) -}}
{{- fail (printf "%s is %d but no Redis is configured: replicas share subscriptions, the event log and binding tokens only through Redis. Set redis.url, redis.existingSecret, config.redis.sentinel or config.redis.cluster, or run one replica." (ternary "autoscaling.maxReplicas" "replicaCount" $v.autoscaling.enabled) $max) -}}
{{- end -}}

{{- $forms := 0 -}}
{{- range (list $v.redis.url $v.redis.existingSecret $cfgRedis.sentinel $cfgRedis.cluster) -}}{{- if . -}}{{- $forms = add1 $forms -}}{{- end -}}{{- end -}}
{{- if gt $forms 1 -}}
{{- fail "Redis is configured more than once: set only one of redis.url, redis.existingSecret, config.redis.sentinel, config.redis.cluster." -}}
{{- end -}}
{{- if and (or $v.redis.password $v.redis.passwordSecret.name) (not (or $cfgRedis.sentinel $cfgRedis.cluster)) -}}
{{- fail "redis.password and redis.passwordSecret apply to config.redis.sentinel or config.redis.cluster only; a Redis URL carries its own password." -}}
{{- end -}}
{{- if and $v.redis.password $v.redis.passwordSecret.name -}}
{{- fail "Set redis.password or redis.passwordSecret.name, not both." -}}
{{- end -}}
{{- if and (or $v.redis.sentinelPassword $v.redis.passwordSecret.sentinelPasswordKey) (not $cfgRedis.sentinel) -}}
{{- fail "redis.sentinelPassword and redis.passwordSecret.sentinelPasswordKey apply to config.redis.sentinel only." -}}
{{- end -}}

{{- $algorithm := default "HS256" $v.config.tokenAlgorithm -}}
{{- $tokenSecret := or $v.tokenSecret.value $v.tokenSecret.existingSecret -}}
{{- if and $v.tokenSecret.value $v.tokenSecret.existingSecret -}}
{{- fail "Set tokenSecret.value or tokenSecret.existingSecret, not both." -}}
{{- end -}}
{{- if and $redis (eq $algorithm "HS256") (not $tokenSecret) -}}
{{- fail "Redis is configured but no token secret is: every replica must verify the binding tokens the others issue. Set tokenSecret.existingSecret (a Secret with TOKEN_SECRET, 32+ characters) or tokenSecret.value." -}}
{{- end -}}
{{- if and (ne $algorithm "HS256") $tokenSecret -}}
{{- fail (printf "tokenSecret is only used with config.tokenAlgorithm HS256, not %s: remove it." $algorithm) -}}
{{- end -}}
{{- if and $v.tokenKeys.existingSecret (eq $algorithm "HS256") -}}
{{- fail "tokenKeys.existingSecret holds an RS256 or ES256 key pair: set config.tokenAlgorithm to RS256 or ES256 (or use tokenSecret for HS256)." -}}
{{- end -}}
{{- if and (ne $algorithm "HS256") (not $v.tokenKeys.existingSecret) (not $v.config.tokenPrivateKeyFile) -}}
{{- fail (printf "config.tokenAlgorithm %s needs its key pair: set tokenKeys.existingSecret (a Secret with private.pem and public.pem)." $algorithm) -}}
{{- end -}}
{{- if and $v.tokenKeys.existingSecret (or $v.config.tokenPrivateKeyFile $v.config.tokenPublicKeyFile) -}}
{{- fail "tokenKeys.existingSecret sets the key files: remove config.tokenPrivateKeyFile and config.tokenPublicKeyFile." -}}
{{- end -}}

{{- if and $v.upstream.authorization $v.upstream.existingSecret -}}
{{- fail "Set upstream.authorization or upstream.existingSecret, not both." -}}
{{- end -}}
{{- if and $v.topics $v.existingTopicsConfigMap -}}
{{- fail "Set topics or existingTopicsConfigMap, not both." -}}
{{- end -}}

{{- $shutdown := div (default 10000 $v.config.shutdownTimeoutMs | int) 1000 -}}
{{- if le (int $v.terminationGracePeriodSeconds) (add $shutdown 5) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed config.shutdownTimeoutMs in seconds plus 5 (%d): Kubernetes would kill the gateway while it drains." (int $v.terminationGracePeriodSeconds) (add $shutdown 5)) -}}
{{- end -}}

{{- if eq $v.mode "standalone" -}}
{{- if not $v.upstream.url -}}
{{- fail "mode standalone needs upstream.url, the FHIR server's base URL (e.g. http://hapi.fhir.svc:8080/fhir)." -}}
{{- end -}}
{{- if or $v.sidecar.container $v.sidecar.embedded -}}
{{- fail "sidecar.container and sidecar.embedded are for mode sidecar; in mode standalone set upstream.url." -}}
{{- end -}}
{{- else -}}
{{- if $v.upstream.url -}}
{{- fail "mode sidecar reaches the FHIR server on localhost (sidecar.port, sidecar.upstreamPath): remove upstream.url." -}}
{{- end -}}
{{- if $v.sidecar.embedded -}}
{{- if $v.sidecar.container -}}
{{- fail "sidecar.embedded: the pod and the FHIR server's container belong to the parent chart; remove sidecar.container." -}}
{{- end -}}
{{- if not $v.sidecar.port -}}
{{- fail "sidecar.embedded needs sidecar.port, the FHIR server's port in the parent chart's pod." -}}
{{- end -}}
{{- range $feature := list "ingress" "autoscaling" "podDisruptionBudget" "serviceMonitor" "networkPolicy" -}}
{{- if (index $v $feature).enabled -}}
{{- fail (printf "sidecar.embedded: the parent chart owns the pod and its Service, so %s.enabled is for the parent chart to provide." $feature) -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- if not $v.sidecar.container -}}
{{- fail "mode sidecar needs sidecar.container, the FHIR server's container spec (name, image, ports)." -}}
{{- end -}}
{{- $port := include "fhir-subscription-gateway.sidecarPort" . -}}
{{- if not $port -}}
{{- fail "mode sidecar needs the FHIR server's port: set sidecar.port or list it in sidecar.container.ports." -}}
{{- end -}}
{{- range ($v.sidecar.container.ports | default list) -}}
{{- if eq (int .containerPort) (int $v.containerPort) -}}
{{- fail (printf "sidecar.container uses port %d, which is containerPort, the gateway's: set containerPort to another port." (int .containerPort)) -}}
{{- end -}}
{{- if eq (toString .name) "gateway" -}}
{{- fail "sidecar.container has a port named gateway, the name of the gateway's port: rename it." -}}
{{- end -}}
{{- end -}}
{{- if eq $v.sidecar.container.name "gateway" -}}
{{- fail "sidecar.container.name must not be gateway, the gateway container's name." -}}
{{- end -}}
{{- end -}}
{{- if eq (int (include "fhir-subscription-gateway.sidecarPort" .)) (int $v.containerPort) -}}
{{- fail (printf "sidecar.port %d is containerPort, the gateway's own port: set containerPort to another port." (int $v.containerPort)) -}}
{{- end -}}
{{- end -}}

{{- $owned := list "FHIR_UPSTREAM_URL" "PORT" "CONFIG_FILE" "TOPICS_DIR" "TOKEN_SECRET" "TOKEN_PRIVATE_KEY_FILE" "TOKEN_PUBLIC_KEY_FILE" "REDIS_URL" "REDIS_PASSWORD" "REDIS_SENTINEL_PASSWORD" "FHIR_UPSTREAM_AUTHORIZATION" -}}
{{- range $v.extraEnv -}}
{{- if has .name $owned -}}
{{- fail (printf "extraEnv must not set %s: the chart sets it from its own values (upstream, sidecar, containerPort, config, topics, tokenSecret, tokenKeys, redis), secrets by reference." .name) -}}
{{- end -}}
{{- end -}}

{{- if and $v.ingress.enabled (not $v.ingress.hosts) -}}
{{- fail "ingress.enabled needs at least one entry in ingress.hosts." -}}
{{- end -}}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) -}}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas." -}}
{{- end -}}
{{- if and $v.podDisruptionBudget.enabled (not (kindIs "invalid" $v.podDisruptionBudget.minAvailable)) (not (kindIs "invalid" $v.podDisruptionBudget.maxUnavailable)) -}}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both (set the other to null)." -}}
{{- end -}}
{{- end -}}
