"""The operator's client for the Gravitee APIM Management API.

Knows nothing of Kubernetes objects: reconcilers translate a ManagementContext (and its Secret)
into a ``ContextSpec``, resolve it, and get an ``ApimClient`` from an ``ApimClientPool``. The
per-family modules (``apis_v2``, ``apis_v4``, ``applications``, ``subscriptions``, ``groups``,
``shared_policy_groups``, ``environments``) hold the typed calls; ``ids`` the deterministic ids.
"""

from controller.apim.auth import Credentials
from controller.apim.client import ApimClient, RequestOutcome
from controller.apim.cloud import CloudClaims, CloudTokenError, parse_cloud_token
from controller.apim.context import ContextSpec, ResolvedContext, resolve_context
from controller.apim.errors import ApimError, ClientConfigError, ErrorKind
from controller.apim.options import ClientOptions, Proxy
from controller.apim.pool import ApimClientPool
from controller.apim.results import ImportErrors
from controller.apim.urls import ApimUrls

__all__ = [
    "ApimClient",
    "ApimClientPool",
    "ApimError",
    "ApimUrls",
    "ClientConfigError",
    "ClientOptions",
    "CloudClaims",
    "CloudTokenError",
    "ContextSpec",
    "Credentials",
    "ErrorKind",
    "ImportErrors",
    "Proxy",
    "RequestOutcome",
    "ResolvedContext",
    "parse_cloud_token",
    "resolve_context",
]
