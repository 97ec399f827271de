// Validation of rendered manifests against the Kubernetes API schemas (kubernetes-models, and
// @kubernetes-models/prometheus-operator for the ServiceMonitor CRD).
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { Manifest } from './helm.js';

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: never) => Validatable;

const MODELS: Record<string, ModelClass> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

// RFC 1123 labels: what Services, and (within 253 characters) every other object, are named.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Throws naming the object and the schema's complaint when `m` is not a valid object of its kind. */
export function validateManifest(m: Manifest): void {
  const what = `${m.kind} ${m.metadata?.name}`;
  const Model = MODELS[`${m.apiVersion}/${m.kind}`];
  if (!Model) throw new Error(`${what}: no schema for ${m.apiVersion} ${m.kind}`);
  if (!m.metadata?.name || m.metadata.name.length > 63 || !DNS_LABEL.test(m.metadata.name)) throw new Error(`${what}: name is not a DNS label`);
  try {
    new Model(m as never).validate();
  } catch (err) {
    throw new Error(`${what} is not a valid ${m.apiVersion} ${m.kind}: ${(err as Error).message}`, { cause: err });
  }
}
