"""A Python re-implementation of the Gravitee Kubernetes Operator.

Layers (enforced by the import-linter contracts in setup.cfg): ``queue`` knows nothing of
Kubernetes; ``apim`` knows nothing of Kubernetes objects; ``informers`` know nothing of
reconcilers; ``reconcilers`` depend on all of them, never the reverse.
"""

from controller import lean_imports as _lean_imports

# Before anything imports kubernetes-asyncio: load only the parts of it the operator uses.
_lean_imports.install()
