"""The system under test as one object: the target, the cluster, APIM, and the operator.

Owns :class:`E2e`, what every journey receives from the ``e2e`` fixture, and the one action on
the operator itself the journeys need (a restart), done the local way or the cluster way. It
must never start the system (``conftest`` does) nor hold object contents beyond a call.
"""

from __future__ import annotations

import attrs
import pytest

from tests.e2e import cluster_operator
from tests.e2e.apim import Apim
from tests.e2e.kube import Cluster
from tests.e2e.local_stack import LocalStack
from tests.e2e.target import Target


@attrs.define
class E2e:
    """What a journey talks to."""

    target: Target
    kube: Cluster
    apim: Apim
    local: LocalStack | None = None

    async def restart_operator(self) -> None:
        """Restart the operator and wait until the new one is ready (caches synced).

        Locally the old process must exit 0 after SIGTERM (graceful shutdown); on a cluster
        this is ``kubectl rollout restart`` (skipped without kubectl), after which run.sh's
        port-forward to the metrics Service reconnects to the new pod by itself.
        """
        if self.local is not None:
            exit_code, metrics_url = await self.local.restart_operator()
            assert exit_code == 0, f"the operator exited with {exit_code} on SIGTERM"
            self.target = attrs.evolve(self.target, metrics_url=metrics_url)
            return
        if cluster_operator.KUBECTL is None:
            pytest.skip("restarting the operator of a cluster needs kubectl on the PATH")
        await cluster_operator.restart_operator(self.target.kubeconfig,
                                                timeout=max(self.target.timeout, 120.0))
