"""Load only the parts of kubernetes-asyncio the operator uses.

``import kubernetes_asyncio.client`` runs the package's generated ``__init__``, which imports
every API class and every model (about 1,200 modules, 65 MiB of RSS): more than half of what
the operator weighs at start. The operator uses the configuration, authentication and REST
layer only (``ApiClient``, ``Configuration``, ``kubernetes_asyncio.config``), and speaks raw JSON
(``controller/kube``). ``install`` replaces the four generated package ``__init__`` modules
(``kubernetes_asyncio``, ``.client``, ``.client.api``, ``.client.models``) by lazy ones that
import a name's module on first access (PEP 562), reading what each name is from the
generated ``__init__`` itself, so every name stays available: code that asks for
``client.CoreV1Api`` or a model gets it, it just costs nothing until then.

It only changes when modules are loaded, never what they contain; when kubernetes-asyncio is
already imported (or its layout is not the expected one) it does nothing.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pathlib
import sys
import types
from typing import Any, Final

_PACKAGES: Final = (
    "kubernetes_asyncio",
    "kubernetes_asyncio.client",
    "kubernetes_asyncio.client.api",
    "kubernetes_asyncio.client.models",
)


def _exports(init: pathlib.Path, package: str) -> tuple[dict[str, tuple[str, str | None]],
                                                         dict[str, Any]]:
    """Name -> (module, attribute or None for the module itself), and the constants, of a
    generated ``__init__``."""
    names: dict[str, tuple[str, str | None]] = {}
    constants: dict[str, Any] = {}
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "__future__":
                continue
            for alias in node.names:
                names[alias.asname or alias.name] = (node.module, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = (alias.name, None)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    constants[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
    return names, constants


def _lazy_package(name: str, directory: pathlib.Path) -> types.ModuleType:
    init = directory / "__init__.py"
    names, constants = _exports(init, name)
    module = types.ModuleType(name, constants.pop("__doc__", None))
    module.__path__ = [str(directory)]
    module.__file__ = str(init)
    module.__package__ = name
    module.__spec__ = importlib.util.spec_from_file_location(
        name, init, submodule_search_locations=[str(directory)]
    )
    module.__dict__.update(constants)

    def __getattr__(attribute: str) -> Any:
        try:
            source, member = names[attribute]
        except KeyError:
            # A submodule (``client.rest``) not re-exported by the generated __init__.
            try:
                value = importlib.import_module(f"{name}.{attribute}")
            except ModuleNotFoundError:
                raise AttributeError(f"module {name!r} has no attribute {attribute!r}") from None
        else:
            loaded = importlib.import_module(source)
            value = loaded if member is None else getattr(loaded, member)
        setattr(module, attribute, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(module.__dict__) | set(names))

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    module.__dir__ = __dir__  # type: ignore[method-assign]
    return module


def install() -> bool:
    """Put the lazy packages in place; False when it could not (or need not) be done."""
    if any(name in sys.modules for name in _PACKAGES):
        return False
    spec = importlib.util.find_spec("kubernetes_asyncio")
    if spec is None or not spec.submodule_search_locations:
        return False
    root = pathlib.Path(next(iter(spec.submodule_search_locations)))
    directories = [root, root / "client", root / "client" / "api", root / "client" / "models"]
    if not all((directory / "__init__.py").is_file() for directory in directories):
        return False
    modules = [_lazy_package(name, directory)
               for name, directory in zip(_PACKAGES, directories, strict=True)]
    for module in modules:
        sys.modules[module.__name__] = module
    # Parents know their subpackages, as the import system would have set them.
    modules[0].client = modules[1]  # type: ignore[attr-defined]
    modules[1].api = modules[2]  # type: ignore[attr-defined]
    modules[1].models = modules[3]  # type: ignore[attr-defined]
    return True
