{{- define "canvass.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "canvass.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "canvass.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "canvass.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Environment every worker shares: the config file, credentials from secrets. */}}
{{- define "canvass.env" -}}
- name: CANVASS_CONFIG
  value: /etc/canvass/canvass.toml
- name: NO_COLOR
  value: "1"
{{- with .Values.s3.credentialsSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom: {secretKeyRef: {name: {{ . }}, key: AWS_ACCESS_KEY_ID}}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ . }}, key: AWS_SECRET_ACCESS_KEY}}
{{- end }}
{{- with .Values.kafka.sasl.passwordSecret }}
- name: CANVASS_KAFKA_SASL_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ . }}, key: password}}
{{- end }}
{{- with .Values.audit.keySecret }}
- name: CANVASS_AUDIT_KEY
  valueFrom: {secretKeyRef: {name: {{ . }}, key: key}}
{{- end }}
{{- end -}}

{{- define "canvass.volumeMounts" -}}
- name: config
  mountPath: /etc/canvass
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.caSecret }}
- name: kafka-ca
  mountPath: /etc/canvass/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "canvass.volumes" -}}
- name: config
  configMap:
    name: {{ include "canvass.fullname" . }}
- name: tmp
  emptyDir: {}
{{- if .Values.kafka.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.caSecret }}
{{- end }}
{{- end -}}

{{- define "canvass.podSpec" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets: {{ toYaml . | nindent 2 }}
{{- end }}
securityContext: {{ toYaml .Values.podSecurityContext | nindent 2 }}
volumes: {{ include "canvass.volumes" . | nindent 2 }}
{{- end -}}
