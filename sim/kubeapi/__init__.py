"""An in-memory Kubernetes API server (kube-apiserver emulator) for tests, demos and benchmarks.

Start it from tests with the ``kubeapi`` / ``kube_client`` fixtures
(:mod:`sim.kubeapi.pytest_plugin`) or :func:`sim.kubeapi.testing.start_emulator`, or from a
shell with ``python -m sim.kubeapi --port 0 --kubeconfig PATH [--crds DIR ...] [--history N]``.

Module map (each module's docstring says what it owns):

- ``testing``      start/stop API (``start_emulator``, ``RunningEmulator``)
- ``app``          aiohttp wiring, discovery/OpenAPI/health and ``/_sim/faults`` routes
- ``handlers``     REST paths -> verbs, bodies, lists, Tables, watch streams
- ``operations``   verb semantics: metadata, status split, finalizers, namespaces, CRDs
- ``store``        objects, the global resourceVersion, bounded history, watch fan-out
- ``resources``    served resource types (built-ins and CRD-registered)
- ``crds``         CRD validation, CRD -> resource types, CRD status
- ``schema``       structural pruning, defaulting and validation of custom resources
- ``patching``     merge, JSON, strategic-merge (approximated) and server-side apply
- ``selectors``    label and field selectors
- ``tables``       ``kubectl get`` Table output (printer columns, ages)
- ``discovery``    ``/version``, ``/api``, ``/apis`` documents
- ``openapi``      OpenAPI v2 (protobuf for kubectl) and v3 documents
- ``protobuf``     protobuf request bodies kubectl sends for a few built-in kinds
- ``gc``           background owner-reference and namespace garbage collection
- ``faults``       fault injection (close watches, expire history, fail requests, latency)
- ``kubeconfig``   kubeconfig files for kubectl and kubernetes-asyncio

It must never be imported by ``controller`` and never listens beyond 127.0.0.1 by default.
"""
