"""Thin helpers over kubernetes-asyncio: client construction and metrics, raw JSON requests,
status/metadata patches and Kubernetes Events.

Everything here speaks raw JSON dicts, not generated models: the operator's own CRDs have no
generated models, and one code path for every kind is simpler than two. Nothing here decides
anything about Gravitee objects.
"""
