"""Makes a benchmark process look like a Lambda container to the code under test.

Imported first by every measured process, before the clock starts, so it must stay cheap: stdlib only, and
what it needs later is imported lazily.

- Modules this venv has but Lambda's Python runtime lacks, which botocore picks up when present (awscrt for
  signing and checksums, pyOpenSSL for TLS), are made unimportable: they would inflate the floor and the
  memory figures compared with AWS.
- Optionally (BENCH_BYTECODE=runtime), only the runtime's own modules (stdlib, the SDK) load from bytecode;
  the function's and the layer's modules are compiled from source on import, as on Lambda when the
  deployment package ships no .pyc files (its directories are read-only: nothing is cached there).
- The transports are replaced by canned answers as soon as they load, so a call made at import time is answered
  too, and nothing reaches the network: botocore's (bench.fakeaws), requests' adapter under the twilio SDK and
  http.client's connections under the media function (bench.faketwilio).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec, PathFinder, SourceFileLoader
from types import ModuleType

ABSENT_ON_LAMBDA = frozenset({"awscrt", "OpenSSL"})
# Top-level packages this venv has that a function's built package leaves out (comma-separated): unimportable, so
# a run from the built folder proves the package holds everything the function imports (bench.package).
LEFT_OUT_ENV = "BENCH_LEFT_OUT"
# Lambda's Python runtime ships these with bytecode; everything else comes from the deployment package.
RUNTIME_PACKAGES = frozenset({"boto3", "botocore", "s3transfer", "dateutil", "six", "urllib3", "bench"})
BYTECODE_ENV = "BENCH_BYTECODE"
TRANSPORT_MODULE = "botocore.httpsession"
# Module -> (bench module, its function that replaces the module's transport once loaded).
TRANSPORTS = {
    TRANSPORT_MODULE: ("bench.fakeaws", "install"),
    "requests.adapters": ("bench.faketwilio", "install_requests"),
    "http.client": ("bench.faketwilio", "install_http_client"),
}


class _SourceOnlyLoader(SourceFileLoader):
    """Ignores any cached bytecode and caches none: source_mtime stays unknown, so nothing is written."""

    def path_stats(self, path: str) -> dict[str, float]:
        raise OSError("bytecode disabled for deployed code")


class _PatchingLoader:
    """Runs the real loader, then swaps the transport for the canned one."""

    def __init__(self, loader: object, installer: tuple[str, str]) -> None:
        self._loader = loader
        self._installer = installer

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._loader.create_module(spec)  # type: ignore[attr-defined]
        return module

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)  # type: ignore[attr-defined]
        bench_module, function = self._installer
        getattr(importlib.import_module(bench_module), function)(module)


class _LambdaLikeFinder:
    def __init__(self, runtime_bytecode_only: bool, left_out: frozenset[str]) -> None:
        self._runtime_bytecode_only = runtime_bytecode_only
        self._absent = ABSENT_ON_LAMBDA | left_out

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] in self._absent:
            raise ModuleNotFoundError(f"No module named {fullname!r} (not in Lambda's runtime)", name=fullname)
        if fullname in TRANSPORTS:
            spec = PathFinder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _PatchingLoader(spec.loader, TRANSPORTS[fullname])  # type: ignore[assignment]
            return spec
        top = fullname.partition(".")[0]
        if self._runtime_bytecode_only and top not in RUNTIME_PACKAGES and top not in sys.stdlib_module_names:
            spec = PathFinder.find_spec(fullname, path, target)
            if spec is not None and isinstance(spec.loader, SourceFileLoader) and spec.origin:
                spec.loader = _SourceOnlyLoader(fullname, spec.origin)
            return spec
        return None


def enter() -> None:
    """Call before anything imports botocore (raises if it is too late to answer AWS calls)."""
    loaded = sorted(name for name in TRANSPORTS if name in sys.modules)
    if loaded:
        raise RuntimeError(f"{', '.join(loaded)} already imported: enter() must come first")
    if not any(isinstance(finder, _LambdaLikeFinder) for finder in sys.meta_path):
        left_out = frozenset(name for name in os.environ.get(LEFT_OUT_ENV, "").split(",") if name)
        sys.meta_path.insert(0, _LambdaLikeFinder(os.environ.get(BYTECODE_ENV) == "runtime", left_out))
