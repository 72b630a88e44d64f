"""Restarting the operator of a real cluster, as an administrator would: ``kubectl rollout``.

Owns the one operation on the operator's Deployment the journeys need (a restart, waited for
until the new pod is ready). Uses the kubectl binary with the suite's kubeconfig; callers skip
when kubectl is absent. It must never touch anything but the operator's Deployment.
"""

from __future__ import annotations

import asyncio
import shutil
from typing import Final

NAMESPACE: Final = "gravitee-operator"
DEPLOYMENT: Final = "deployment/gko-controller-manager"
KUBECTL: Final = shutil.which("kubectl")


async def _kubectl(kubeconfig: str, *args: str, timeout: float) -> str:
    assert KUBECTL is not None, "kubectl is not on the PATH"
    process = await asyncio.create_subprocess_exec(
        KUBECTL, "--kubeconfig", kubeconfig, "--namespace", NAMESPACE, *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"kubectl {' '.join(args)} took more than {timeout:.0f} s") from None
    assert process.returncode == 0, f"kubectl {' '.join(args)}: {err.decode()}"
    return out.decode()


async def restart_operator(kubeconfig: str, *, timeout: float) -> None:
    """``rollout restart`` the operator and wait until the new pod is ready."""
    await _kubectl(kubeconfig, "rollout", "restart", DEPLOYMENT, timeout=timeout)
    await _kubectl(kubeconfig, "rollout", "status", DEPLOYMENT, f"--timeout={int(timeout)}s",
                   timeout=timeout + 10)
