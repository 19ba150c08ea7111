"""Package size: `sam build` into a private folder, then each function's and layer's size as deployed; and a
function run from what was built (its folder and the layer's, everything else it would import made unimportable)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from bench.proc import BenchError
from bench.report import Row
from bench.sandbox import LEFT_OUT_ENV
from bench.stackenv import Deployed
from devtools.template import ROOT

# Beside sam's own .aws-sam/build (never over it), and out of the linters' and type checker's way.
BUILD_DIR = ROOT / ".aws-sam" / "bench" / "build"
KB = 1024
MB = KB * 1024  # as Lambda counts its limits (250 MB unzipped, 50 MB zipped) and MemorySize
RUNTIME = "3.13"  # template.yaml's python3.13: sam build needs that interpreter on PATH


def _environment() -> dict[str, str]:
    """This shell's environment; with pyenv and no python3.13 selected, the newest installed 3.13 added."""
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    python = shutil.which(f"python{RUNTIME}")
    version = [python, "--version"] if python else []
    runnable = bool(version) and subprocess.run(version, env=env, capture_output=True, check=False).returncode == 0
    pyenv = shutil.which("pyenv")
    if not runnable and pyenv:
        versions = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True, check=False)
        wanted = [line.strip() for line in versions.stdout.splitlines() if line.strip().startswith(f"{RUNTIME}.")]
        current = subprocess.run([pyenv, "version-name"], capture_output=True, text=True, check=False)
        if wanted:
            env["PYENV_VERSION"] = ":".join([*current.stdout.strip().split(":"), wanted[-1]])
    return env


def build() -> Path:
    sam = Path(sys.executable).with_name("sam")
    args = [str(sam), "build", "--build-dir", str(BUILD_DIR), "--cache-dir", str(BUILD_DIR.with_name("cache"))]
    done = subprocess.run(args, cwd=ROOT, env=_environment(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError("sam build failed:\n" + "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:]))
    return BUILD_DIR


def _sizes(folder: Path) -> tuple[int, int, int]:
    """(bytes on disk unzipped, bytes zipped as sam deploy uploads it, .pyc files)."""
    files = [path for path in sorted(folder.rglob("*")) if path.is_file()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(folder))
    return sum(path.stat().st_size for path in files), buffer.tell(), sum(path.suffix == ".pyc" for path in files)


def run() -> tuple[list[Row], dict[str, object]]:
    folder = build()
    rows: list[Row] = []
    details: dict[str, object] = {}
    for artifact in sorted(path for path in folder.iterdir() if path.is_dir()):
        unzipped, zipped, bytecode = _sizes(artifact)
        details[artifact.name] = {"unzipped_bytes": unzipped, "zipped_bytes": zipped, "pyc_files": bytecode}
        note = f"zipped {zipped / KB:,.0f} KB, {bytecode} .pyc files"
        rows.append(Row(f"package, unzipped: {artifact.name}", unzipped / KB, "KB", note=note))
    return rows, details


def _top_level(distribution_name: str) -> tuple[set[str], list[str]]:
    """(the distribution's top-level import names, the distributions it requires, extras apart)."""
    found = distribution(distribution_name)
    names = {
        Path(file.parts[0]).stem
        for file in found.files or []
        if not file.parts[0].endswith((".dist-info", ".data")) and file.parts[0] not in ("..", "bin", "__pycache__")
    }
    required = [re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0] for requirement in found.requires or []]
    kept = [
        name for name, requirement in zip(required, found.requires or [], strict=True) if "extra ==" not in requirement
    ]
    return names, kept


def left_out(folders: list[Path], distribution_name: str = "twilio") -> list[str]:
    """Top-level packages the whole distribution brings with its dependencies that the built folders lack."""
    names: set[str] = set()
    todo, seen = [distribution_name], set()
    while todo:
        name = todo.pop()
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        try:
            top, required = _top_level(name)
        except PackageNotFoundError:  # required only under a marker this interpreter does not meet
            continue
        names |= top
        todo += required
    return sorted(
        name
        for name in names
        if not any((folder / name).exists() or (folder / f"{name}.py").exists() for folder in folders)
    )


def as_built(logical_id: str, deployed: Deployed, folder: Path = BUILD_DIR) -> Deployed:
    """The function as `sam build` packaged it: its folder and the layer's first on the path, and what the whole
    twilio SDK would bring but the folder lacks unimportable."""
    built = [folder / logical_id, folder / "SharedLayer" / "python"]
    paths = [*map(str, built), deployed.environment.get("PYTHONPATH", "")]
    return deployed.with_environment(
        {"PYTHONPATH": os.pathsep.join(path for path in paths if path), LEFT_OUT_ENV: ",".join(left_out(built))}
    )
