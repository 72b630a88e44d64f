{{/*
Labels of every object: the kustomize install's, plus Helm's release bookkeeping.
*/}}
{{- define "gko.labels" -}}
app.kubernetes.io/name: gravitee-operator
app.kubernetes.io/part-of: gravitee-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/*
Pod selector: the same labels as the kustomize install, so either can take over the other's
Deployment (a Deployment's selector cannot change).
*/}}
{{- define "gko.selectorLabels" -}}
app.kubernetes.io/name: gravitee-operator
app.kubernetes.io/component: controller-manager
{{- end }}

{{- define "gko.serviceAccountName" -}}
{{ .Values.serviceAccount.name }}
{{- end }}

{{- define "gko.image" -}}
{{ printf "%s:%s" .Values.manager.image.repository (.Values.manager.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
NAMESPACE: the release namespace for a namespaced install, else the listed namespaces (empty:
all of them).
*/}}
{{- define "gko.watchedNamespaces" -}}
{{- if .Values.manager.scope.cluster -}}
{{ join "," .Values.manager.scope.namespaces }}
{{- else -}}
{{ .Release.Namespace }}
{{- end -}}
{{- end }}

{{/*
Cluster-scoped names get the release namespace appended in a namespaced install, so that
several namespaced releases in one cluster never fight over one ClusterRole.
*/}}
{{- define "gko.clusterName" -}}
{{- $name := index . 0 -}}
{{- $root := index . 1 -}}
{{- if $root.Values.manager.scope.cluster -}}
{{ $name }}
{{- else -}}
{{ printf "%s-%s" $name $root.Release.Namespace | trunc 63 | trimSuffix "-" }}
{{- end -}}
{{- end }}

{{- define "gko.metricsCertDir" -}}
{{- if .Values.manager.metrics.certDir -}}
{{ .Values.manager.metrics.certDir }}
{{- else if .Values.manager.metrics.certSecret -}}
/tmp/k8s-metrics-server/metrics-certs
{{- end -}}
{{- end }}

{{- define "gko.crdPlurals" -}}
- managementcontexts
- apidefinitions
- apiv4definitions
- apiresources
- applications
- subscriptions
- sharedpolicygroups
- groups
- notifications
- dictionaries
- portals
- portallistings
- portallinks
- documentations
{{- end }}

{{/*
What the operator does to the objects it reconciles: the same rules as
manifests/rbac/{cluster,namespaced}/role.yaml (tests/deploy compares them).
*/}}
{{- define "gko.managerRules" -}}
# The custom resources: read and watch them, write finalizers and annotations.
- apiGroups: ["gravitee.io"]
  resources:
    {{- include "gko.crdPlurals" . | nindent 4 }}
  verbs: [get, list, watch, update, patch]
# Their status conditions.
- apiGroups: ["gravitee.io"]
  resources:
    {{- range (include "gko.crdPlurals" . | fromYamlArray) }}
    - {{ . }}/status
    {{- end }}
  verbs: [get, update, patch]
# Needed where OwnerReferencesPermissionEnforcement is on (blockOwnerDeletion).
- apiGroups: ["gravitee.io"]
  resources:
    {{- range (include "gko.crdPlurals" . | fromYamlArray) }}
    - {{ . }}/finalizers
    {{- end }}
  verbs: [update]
# Local mode: one ConfigMap per API, created, updated and deleted by the operator.
- apiGroups: [""]
  resources:
    - configmaps
  verbs: [get, list, watch, create, update, patch, delete]
# Credentials and templating sources: read, plus finalizer/annotation bookkeeping.
# Never create or delete: the operator owns no Secret.
- apiGroups: [""]
  resources:
    - secrets
  verbs: [get, list, watch, update, patch]
# UpdateStarted/UpdateSucceeded/... events about the reconciled objects.
- apiGroups: [""]
  resources:
    - events
  verbs: [create, patch]
{{- if .Values.ingress.controller.enabled }}
# Ingress controller (ENABLE_INGRESS): the Ingresses of the handled classes (their finalizer,
# status.loadBalancer), and the ApiDefinition each one generates.
- apiGroups: ["networking.k8s.io"]
  resources:
    - ingresses
  verbs: [get, list, watch, update, patch]
- apiGroups: ["networking.k8s.io"]
  resources:
    - ingresses/status
  verbs: [get, update, patch]
- apiGroups: ["gravitee.io"]
  resources:
    - apidefinitions
  verbs: [create]
{{- if .Values.ingress.gatewayService }}
# INGRESS_GATEWAY_SERVICE: the gateway Service whose address goes to status.loadBalancer.
- apiGroups: [""]
  resources:
    - services
  verbs: [get, list, watch]
{{- end }}
{{- end }}
{{- end }}

{{/*
Refuse combinations that cannot work, at render time.
*/}}
{{- define "gko.validate" -}}
{{- if and (gt (int .Values.manager.replicaCount) 1) (not .Values.manager.leaderElection.enabled) -}}
{{- fail "manager.replicaCount > 1 needs manager.leaderElection.enabled: two operators must never reconcile side by side" -}}
{{- end -}}
{{- if and (not .Values.manager.scope.cluster) .Values.manager.scope.namespaces -}}
{{- fail "manager.scope.namespaces needs manager.scope.cluster: true (a namespaced install watches the release namespace only)" -}}
{{- end -}}
{{- if and .Values.manager.metrics.certSecret (not .Values.manager.metrics.secured) -}}
{{- fail "manager.metrics.certSecret is only used with manager.metrics.secured: true" -}}
{{- end -}}
{{- end }}

{{/*
The admission webhooks: configuration names (unique per release namespace), timeout, and the
kinds served (the same list as manifests/components/webhook/webhooks.yaml, generated from the
kinds' declarations; tests/deploy compares them).
*/}}
{{- define "gko.validatingWebhookName" -}}
gko-validating-webhook-configurations-{{ .Release.Namespace }}
{{- end }}

{{- define "gko.mutatingWebhookName" -}}
gko-mutating-webhook-configurations-{{ .Release.Namespace }}
{{- end }}

{{- define "gko.webhookTimeout" -}}
{{- if .Values.manager.webhook.timeoutSeconds -}}
{{ .Values.manager.webhook.timeoutSeconds }}
{{- else -}}
{{ min 30 (add (int .Values.manager.httpClient.timeoutSeconds) 5) }}
{{- end -}}
{{- end }}

{{- define "gko.validatedKinds" -}}
- [ManagementContext, managementcontexts]
- [ApiDefinition, apidefinitions]
- [ApiV4Definition, apiv4definitions]
- [ApiResource, apiresources]
- [Application, applications]
- [Group, groups]
- [Notification, notifications]
- [SharedPolicyGroup, sharedpolicygroups]
- [Subscription, subscriptions]
- [Dictionary, dictionaries]
- [Portal, portals]
- [PortalListing, portallistings]
- [PortalLink, portallinks]
- [Documentation, documentations]
{{- end }}

{{- define "gko.mutatedKinds" -}}
- [ManagementContext, managementcontexts]
{{- end }}
