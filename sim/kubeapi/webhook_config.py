"""MutatingWebhookConfiguration and ValidatingWebhookConfiguration: defaults and validation.

Owns what kube-apiserver defaults in ``admissionregistration.k8s.io/v1`` webhook configurations
(failurePolicy Fail, matchPolicy Equivalent, empty selectors, timeoutSeconds 10,
reinvocationPolicy Never, rule scope ``*``, service port 443) and the validation errors it
returns for them, with its field paths and messages. Must never call a webhook:
:mod:`sim.kubeapi.webhooks` does.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

from sim.kubeapi.errors import FieldError

JsonObj = dict[str, Any]

_OPERATIONS = ("*", "CONNECT", "CREATE", "DELETE", "UPDATE")
_SCOPES = ("*", "Cluster", "Namespaced")
_FAILURE_POLICIES = ("Fail", "Ignore")
_MATCH_POLICIES = ("Equivalent", "Exact")
# v1 accepts only side-effect classes safe on dry run (Some and Unknown were v1beta1's).
_SIDE_EFFECTS = ("None", "NoneOnDryRun")
_REINVOCATION = ("IfNeeded", "Never")
_REVIEW_VERSIONS = ("v1", "v1beta1")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_FORM = "; desired format: https://host[/path]"
_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def apply_defaults(obj: JsonObj, *, mutating: bool) -> None:
    """Fill in what kube-apiserver's v1 defaulting fills in (in place)."""
    for hook in obj.get("webhooks") or []:
        if not isinstance(hook, dict):
            continue
        hook.setdefault("failurePolicy", "Fail")
        hook.setdefault("matchPolicy", "Equivalent")
        hook.setdefault("namespaceSelector", {})
        hook.setdefault("objectSelector", {})
        hook.setdefault("timeoutSeconds", 10)
        if mutating:
            hook.setdefault("reinvocationPolicy", "Never")
        for rule in hook.get("rules") or []:
            if isinstance(rule, dict):
                rule.setdefault("scope", "*")
        service = (hook.get("clientConfig") or {}).get("service")
        if isinstance(service, dict):
            service.setdefault("port", 443)


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f'"{v}"' for v in values)


def _unsupported(path: str, value: Any, allowed: tuple[str, ...]) -> FieldError:
    return FieldError(
        path,
        "FieldValueNotSupported",
        f'Unsupported value: "{value}": supported values: {_quoted(allowed)}',
    )


def _required(path: str, detail: str = "") -> FieldError:
    message = "Required value" + (f": {detail}" if detail else "")
    return FieldError(path, "FieldValueRequired", message)


def _invalid(path: str, value: str, detail: str) -> FieldError:
    return FieldError(path, "FieldValueInvalid", f"Invalid value: {value}: {detail}")


def _json_list(values: list[Any]) -> str:
    return json.dumps(values, separators=(",", ":"))


def validate(obj: JsonObj, *, mutating: bool) -> list[FieldError]:
    """The errors kube-apiserver reports for one configuration (empty when valid)."""
    errors: list[FieldError] = []
    hooks = obj.get("webhooks") or []
    if not isinstance(hooks, list):
        return [FieldError("webhooks", "FieldValueInvalid", "Invalid value: must be a list")]
    seen: set[str] = set()
    for index, hook in enumerate(hooks):
        path = f"webhooks[{index}]"
        if not isinstance(hook, dict):
            errors.append(FieldError(path, "FieldValueInvalid", "Invalid value: must be an object"))
            continue
        name = hook.get("name") or ""
        if name in seen:
            errors.append(
                FieldError(f"{path}.name", "FieldValueDuplicate", f'Duplicate value: "{name}"')
            )
        seen.add(name)
        errors.extend(_validate_hook(hook, path, mutating=mutating))
    return errors


def _validate_hook(hook: JsonObj, path: str, *, mutating: bool) -> list[FieldError]:
    errors: list[FieldError] = []
    name = hook.get("name") or ""
    if not name:
        errors.append(_required(f"{path}.name"))
    elif len(name.split(".")) < 3:
        errors.append(
            _invalid(
                f"{path}.name",
                f'"{name}"',
                "should be a domain with at least three segments separated by dots",
            )
        )
    for index, rule in enumerate(hook.get("rules") or []):
        errors.extend(_validate_rule(rule, f"{path}.rules[{index}]"))
    if hook.get("failurePolicy") not in _FAILURE_POLICIES:
        errors.append(
            _unsupported(f"{path}.failurePolicy", hook.get("failurePolicy"), _FAILURE_POLICIES)
        )
    if hook.get("matchPolicy") not in _MATCH_POLICIES:
        errors.append(_unsupported(f"{path}.matchPolicy", hook.get("matchPolicy"), _MATCH_POLICIES))
    side_effects = hook.get("sideEffects")
    if side_effects is None:
        errors.append(
            _required(f"{path}.sideEffects", "must specify one of " + ", ".join(_SIDE_EFFECTS))
        )
    elif side_effects not in _SIDE_EFFECTS:
        errors.append(_unsupported(f"{path}.sideEffects", side_effects, _SIDE_EFFECTS))
    timeout = hook.get("timeoutSeconds")
    if not isinstance(timeout, int) or not 1 <= timeout <= 30:
        errors.append(
            _invalid(
                f"{path}.timeoutSeconds",
                str(timeout),
                "the timeout value must be between 1 and 30 seconds",
            )
        )
    for selector in ("namespaceSelector", "objectSelector"):
        errors.extend(_validate_selector(hook.get(selector), f"{path}.{selector}"))
    versions = hook.get("admissionReviewVersions") or []
    if not versions:
        errors.append(
            _required(
                f"{path}.admissionReviewVersions",
                "must specify one of " + ", ".join(_REVIEW_VERSIONS),
            )
        )
    elif not any(v in _REVIEW_VERSIONS for v in versions):
        errors.append(
            _invalid(
                f"{path}.admissionReviewVersions",
                _json_list(versions),
                "must include at least one of " + ", ".join(_REVIEW_VERSIONS),
            )
        )
    if mutating and hook.get("reinvocationPolicy") not in _REINVOCATION:
        errors.append(
            _unsupported(
                f"{path}.reinvocationPolicy", hook.get("reinvocationPolicy"), _REINVOCATION
            )
        )
    errors.extend(_validate_client_config(hook.get("clientConfig") or {}, f"{path}.clientConfig"))
    return errors


def _validate_rule(rule: Any, path: str) -> list[FieldError]:
    if not isinstance(rule, dict):
        return [FieldError(path, "FieldValueInvalid", "Invalid value: must be an object")]
    errors: list[FieldError] = []
    operations = rule.get("operations") or []
    if not operations:
        errors.append(_required(f"{path}.operations"))
    if len(operations) > 1 and "*" in operations:
        errors.append(
            _invalid(
                f"{path}.operations",
                _json_list(operations),
                "if '*' is present, must not specify other operations",
            )
        )
    for index, op in enumerate(operations):
        if op not in _OPERATIONS:
            errors.append(_unsupported(f"{path}.operations[{index}]", op, _OPERATIONS))
    for field in ("apiGroups", "apiVersions"):
        if not rule.get(field):
            errors.append(_required(f"{path}.{field}"))
    errors.extend(_validate_resources(list(rule.get("resources") or []), f"{path}.resources"))
    if rule.get("scope") not in _SCOPES:
        errors.append(_unsupported(f"{path}.scope", rule.get("scope"), _SCOPES))
    return errors


def _validate_resources(resources: list[Any], path: str) -> list[FieldError]:
    """Wildcards may not overlap other entries (``*/*`` alone; ``*`` with no plain resource)."""
    if not resources:
        return [_required(path)]
    errors: list[FieldError] = []
    wildcard_subresources: set[str] = set()  # x/*
    wildcard_resources: set[str] = set()  # */x
    plain = False
    for index, entry in enumerate(resources):
        entry = str(entry)
        if not entry:
            errors.append(_required(f"{path}[{index}]"))
            continue
        res, slash, sub = entry.partition("/")
        if not slash:
            plain = plain or entry != "*"
            continue
        if res in wildcard_subresources:
            message = f"if '{res}/*' is present, must not specify {entry}"
            errors.append(_invalid(f"{path}[{index}]", f'"{entry}"', message))
        if sub in wildcard_resources:
            message = f"if '*/{sub}' is present, must not specify {entry}"
            errors.append(_invalid(f"{path}[{index}]", f'"{entry}"', message))
        if sub == "*":
            wildcard_subresources.add(res)
        if res == "*":
            wildcard_resources.add(sub)
    if len(resources) > 1 and "*/*" in resources:
        errors.append(
            _invalid(
                path, _json_list(resources), "if '*/*' is present, must not specify other resources"
            )
        )
    if "*" in resources and plain:
        errors.append(
            _invalid(
                path,
                _json_list(resources),
                "if '*' is present, must not specify other resources without subresources",
            )
        )
    return errors


def _validate_selector(selector: Any, path: str) -> list[FieldError]:
    if not isinstance(selector, dict):
        return []
    errors: list[FieldError] = []
    for index, expression in enumerate(selector.get("matchExpressions") or []):
        operator = (expression or {}).get("operator")
        if operator not in _SELECTOR_OPERATORS:
            errors.append(
                _invalid(
                    f"{path}.matchExpressions[{index}].operator",
                    f'"{operator}"',
                    "not a valid selector operator",
                )
            )
    return errors


def _validate_client_config(config: JsonObj, path: str) -> list[FieldError]:
    url, service = config.get("url"), config.get("service")
    if (url is None) == (service is None):
        return [_required(path, "exactly one of url or service is required")]
    if url is not None:
        return _validate_url(str(url), f"{path}.url")
    errors: list[FieldError] = []
    service = service if isinstance(service, dict) else {}
    # kube-apiserver hands name and namespace over to its check in swapped order, so a
    # missing name is reported on ``namespace`` and the other way round.
    if not service.get("name"):
        errors.append(_required(f"{path}.service.namespace"))
    if not service.get("namespace"):
        errors.append(_required(f"{path}.service.name"))
    port = service.get("port", 443)
    if not isinstance(port, int) or not 1 <= port <= 65535:
        errors.append(
            _invalid(
                f"{path}.service.port",
                str(port),
                "port is not valid: must be between 1 and 65535, inclusive",
            )
        )
    svc_path = service.get("path")
    if svc_path is not None:
        errors.extend(_validate_service_path(str(svc_path), f"{path}.service.path"))
    return errors


def _validate_service_path(url_path: str, path: str) -> list[FieldError]:
    if url_path in ("", "/"):
        return []
    shown = f'"{url_path}"'
    if url_path == "//":
        return [_invalid(path, shown, "segment[0] may not be empty")]
    errors: list[FieldError] = []
    if not url_path.startswith("/"):
        errors.append(_invalid(path, shown, "must start with a '/'"))
    rest = url_path[1:]
    if rest.endswith("/"):
        rest = rest[:-1]
    for index, segment in enumerate(rest.split("/")):
        if not segment:
            errors.append(_invalid(path, shown, f"segment[{index}] may not be empty"))
        elif len(segment) > 253 or not _DNS_SUBDOMAIN.match(segment):
            errors.append(_invalid(path, shown, f"segment[{index}]: {_SUBDOMAIN_MESSAGE}"))
    return errors


def _validate_url(url: str, path: str) -> list[FieldError]:
    parts = urllib.parse.urlsplit(url)
    errors: list[FieldError] = []
    if parts.scheme != "https":
        errors.append(
            _invalid(path, f'"{parts.scheme}"', "'https' is the only allowed URL scheme" + _FORM)
        )
    if not parts.hostname:
        errors.append(_invalid(path, f'"{parts.netloc}"', "host must be specified" + _FORM))
    if parts.username is not None:
        errors.append(
            _invalid(path, f'"{parts.username}"', "user information is not permitted in the URL")
        )
    if parts.fragment:
        errors.append(
            _invalid(path, f'"{parts.fragment}"', "fragments are not permitted in the URL")
        )
    if parts.query:
        errors.append(
            _invalid(path, f'"{parts.query}"', "query parameters are not permitted in the URL")
        )
    return errors
