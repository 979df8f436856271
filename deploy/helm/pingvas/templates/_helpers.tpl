{{/* Names, labels and the pieces every pod shares. */}}

{{- define "pingvas.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "pingvas.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels for one component (web, worker, migrate). */}}
{{- define "pingvas.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* repository@digest when a digest is pinned, else repository:tag. */}}
{{- define "pingvas.image" -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}
{{- end -}}

{{/* The Secret pods read: the operator's, or the one this chart makes. */}}
{{- define "pingvas.secretName" -}}
{{- default (printf "%s-secrets" (include "pingvas.fullname" .)) .Values.existingSecret -}}
{{- end -}}

{{- define "pingvas.serviceAccountName" -}}
{{- default (include "pingvas.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* A secret key as an environment variable; optional keys may be absent from an existing Secret. */}}
{{- define "pingvas.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
      optional: {{ .optional }}
{{- end -}}

{{/*
Environment from Secrets for a process. `owner` adds the owner's DATABASE_URL (the migration
job, or every process when database.appRoleOnly is false).
*/}}
{{- define "pingvas.secretEnvs" -}}
{{- $secret := .secret -}}
{{- if .owner }}
{{ include "pingvas.secretEnv" (dict "name" "DATABASE_URL" "secret" $secret "key" "databaseUrl" "optional" false) }}
{{- end }}
{{ include "pingvas.secretEnv" (dict "name" "DATABASE_APP_URL" "secret" $secret "key" "databaseAppUrl" "optional" false) }}
{{ include "pingvas.secretEnv" (dict "name" "JWT_SECRET_KEY" "secret" $secret "key" "jwtSecretKey" "optional" false) }}
{{ include "pingvas.secretEnv" (dict "name" "TOKEN_ENCRYPTION_KEY" "secret" $secret "key" "tokenEncryptionKey" "optional" false) }}
{{ include "pingvas.secretEnv" (dict "name" "SMTP_URL" "secret" $secret "key" "smtpUrl" "optional" false) }}
{{ include "pingvas.secretEnv" (dict "name" "OBJECT_STORE_URL" "secret" $secret "key" "objectStoreUrl" "optional" false) }}
{{- range $name, $key := dict "AWS_ACCESS_KEY_ID" "awsAccessKeyId" "AWS_SECRET_ACCESS_KEY" "awsSecretAccessKey" "METRICS_TOKEN" "metricsToken" "STRIPE_SECRET_KEY" "stripeSecretKey" "STRIPE_WEBHOOK_SECRET" "stripeWebhookSecret" "GOOGLE_CLIENT_SECRET" "googleClientSecret" "DISCORD_CLIENT_SECRET" "discordClientSecret" }}
{{ include "pingvas.secretEnv" (dict "name" $name "secret" $secret "key" $key "optional" true) }}
{{- end }}
{{- end -}}

{{/* The pod-level settings every pod of ours shares. */}}
{{- define "pingvas.podCommon" -}}
serviceAccountName: {{ include "pingvas.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Plain settings, shared by the release's ConfigMap and the migration hook's. */}}
{{- define "pingvas.configData" -}}
PINGVAS_ENV: production
PUBLIC_URL: {{ .Values.publicUrl | quote }}
DB_SCHEMA: {{ .Values.database.schema | quote }}
DATABASE_MAX_CONNECTIONS: {{ .Values.database.maxConnections | quote }}
LOG_FORMAT: {{ .Values.config.logFormat | quote }}
MAIL_FROM: {{ .Values.config.mailFrom | quote }}
AWS_REGION: {{ .Values.config.awsRegion | quote }}
{{- with .Values.config.awsEndpoint }}
AWS_ENDPOINT: {{ . | quote }}
{{- end }}
{{- with .Values.config.modelCatalog }}
MODEL_CATALOG: {{ . | quote }}
{{- end }}
{{- with .Values.config.stripePublishableKey }}
STRIPE_PUBLISHABLE_KEY: {{ . | quote }}
{{- end }}
{{- with .Values.config.googleClientId }}
GOOGLE_CLIENT_ID: {{ . | quote }}
{{- end }}
{{- with .Values.config.discordClientId }}
DISCORD_CLIENT_ID: {{ . | quote }}
{{- end }}
{{- with .Values.config.trustedProxies }}
TRUSTED_PROXIES: {{ . | quote }}
{{- end }}
{{- range $name, $value := .Values.config.extraEnv }}
{{ $name }}: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* The chart's own Secret data (base64), with or without the owner's URL. */}}
{{- define "pingvas.secretData" -}}
{{- $s := .root.Values.secrets -}}
{{- range $key := list "databaseAppUrl" "jwtSecretKey" "tokenEncryptionKey" "smtpUrl" "objectStoreUrl" }}
{{- if not (index $s $key) }}
{{- fail (printf "secrets.%s is required (or name your own Secret in existingSecret)" $key) }}
{{- end }}
{{- end }}
{{- if .owner }}
databaseUrl: {{ required "secrets.databaseUrl is required (or name your own Secret in existingSecret)" $s.databaseUrl | b64enc }}
{{- end }}
{{- range $key, $value := $s }}
{{- if and $value (ne $key "databaseUrl") }}
{{ $key }}: {{ $value | b64enc }}
{{- end }}
{{- end }}
{{- end -}}
