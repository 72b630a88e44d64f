"""What kube-apiserver checks and defaults on Ingresses and Services (the parts the operator
and its tests rely on): Ingress path types and backends, Service type, ports and cluster IP.

Owns the field errors of those two kinds. Must never touch storage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim.kubeapi.errors import FieldError

JsonObj = dict[str, Any]

PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def _supported(values: tuple[str, ...]) -> str:
    return ", ".join(f'"{v}"' for v in values)


def _backend_errors(backend: Any, field: str) -> list[FieldError]:
    if not isinstance(backend, dict):
        return [FieldError(field, "FieldValueRequired", "Required value")]
    service, resource = backend.get("service"), backend.get("resource")
    if service is None and resource is None:
        return [FieldError(field, "FieldValueInvalid",
                           "Invalid value: \"\": at least one backend must be specified")]
    if service is not None and resource is not None:
        return [FieldError(field, "FieldValueInvalid",
                           "Invalid value: \"\": cannot set both resource and service backends")]
    if service is None:
        return []
    errors: list[FieldError] = []
    if not service.get("name"):
        errors.append(FieldError(f"{field}.service.name", "FieldValueRequired", "Required value"))
    port = service.get("port") or {}
    if not port.get("name") and not port.get("number"):
        errors.append(FieldError(f"{field}.service.port.name", "FieldValueRequired",
                                 "Required value: port name or number is required"))
    return errors


def validate_ingress(obj: JsonObj) -> list[FieldError]:
    """The rule, path and backend checks of ``networking.k8s.io/v1`` Ingress validation."""
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    if spec.get("defaultBackend") is not None:
        errors += _backend_errors(spec["defaultBackend"], "spec.defaultBackend")
    for r, rule in enumerate(spec.get("rules") or []):
        http = (rule or {}).get("http")
        if http is None:
            continue
        paths = http.get("paths")
        if not paths:
            errors.append(FieldError(f"spec.rules[{r}].http.paths", "FieldValueRequired",
                                     "Required value"))
            continue
        for p, path in enumerate(paths):
            field = f"spec.rules[{r}].http.paths[{p}]"
            path_type = path.get("pathType")
            if not path_type:
                errors.append(FieldError(f"{field}.pathType", "FieldValueRequired",
                                         "Required value: pathType must be specified"))
            elif path_type not in PATH_TYPES:
                errors.append(FieldError(
                    f"{field}.pathType", "FieldValueNotSupported",
                    f'Unsupported value: "{path_type}": supported values: '
                    f"{_supported(PATH_TYPES)}",
                ))
            value = path.get("path", "")
            if path_type in ("Exact", "Prefix") and not str(value).startswith("/"):
                errors.append(FieldError(f"{field}.path", "FieldValueInvalid",
                                         f'Invalid value: "{value}": must be an absolute path'))
            errors += _backend_errors(path.get("backend"), f"{field}.backend")
    return errors


def default_service(
    obj: JsonObj, old: JsonObj | None, allocate: Callable[[], str]
) -> list[FieldError]:
    """Defaults (type, session affinity, port protocol and target port, a cluster IP kept
    across updates, ``ipMode: VIP`` for a load balancer address given as an IP) and the type
    and ports checks of a core/v1 Service."""
    for entry in ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        if isinstance(entry, dict) and entry.get("ip"):
            entry.setdefault("ipMode", "VIP")
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    if spec["type"] not in SERVICE_TYPES:
        return [FieldError("spec.type", "FieldValueNotSupported",
                           f'Unsupported value: "{spec["type"]}": supported values: '
                           f"{_supported(SERVICE_TYPES)}")]
    if spec["type"] == "ExternalName":
        return []
    ports = spec.get("ports") or []
    if not ports:
        return [FieldError("spec.ports", "FieldValueRequired", "Required value")]
    for port in ports:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    spec.setdefault("sessionAffinity", "None")
    previous = ((old or {}).get("spec") or {}).get("clusterIP")
    if previous:
        spec["clusterIP"] = previous
    elif not spec.get("clusterIP"):
        spec["clusterIP"] = allocate()
    if spec["clusterIP"] != "None":
        spec["clusterIPs"] = [spec["clusterIP"]]
    return []
