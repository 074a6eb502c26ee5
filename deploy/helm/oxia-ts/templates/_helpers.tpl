{{- /* The prefix of every object's name: the release's, unless fullnameOverride is set. */ -}}
{{- define "oxia-ts.fullname" -}}
{{ default .Release.Name .Values.fullnameOverride }}
{{- end }}

{{- /* Labels of every object's metadata (pod templates and selectors carry only name and component). */ -}}
{{- define "oxia-ts.labels" -}}
app.kubernetes.io/name: oxia-ts
app.kubernetes.io/part-of: oxia-ts
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{- /* The cluster's name on the Services the ServiceMonitors scrape, copied onto every series
(metrics.oxiaCluster, default the release name, as Oxia's chart names it). */ -}}
{{- define "oxia-ts.clusterLabel" -}}
oxia_cluster: {{ default .Release.Name .Values.metrics.oxiaCluster | quote }}
{{- end }}

{{- /* Refuses values that cannot work together. */ -}}
{{- define "oxia-ts.validate" -}}
{{- if and .Values.auth.oidc.enabled (not .Values.tls.enabled) }}
{{- fail "auth.oidc.enabled needs tls.enabled: tokens must not cross the network in plaintext" }}
{{- end }}
{{- if and (ne .Values.coordinator.discovery "static") (ne .Values.coordinator.discovery "kubernetes") }}
{{- fail "coordinator.discovery: static or kubernetes" }}
{{- end }}
{{- end }}
