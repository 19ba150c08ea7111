"""What is generated from schemas/, the one definition of every event and of the send command: the Python client
package's models (datamodel-code-generator), the TypeScript types (json-schema-to-typescript) and the documents
the EventBridge schema registry holds (JSON Schema Draft 4, which the registry accepts; ours are 2020-12), written
into template.yaml's schema resources.

    python -m devtools.codegen          # `make generate`: writes them all
    python -m devtools.codegen --check  # exits 1 naming what differs from a fresh generation (make test does it)

Both generators read the same document per schema (`codegen_document`): the schema with its title replaced by
the model's name and, for the send command, without its top-level `allOf` (which field combinations are allowed:
the generators cannot express it; the client's SendCommand checks it, tests/unit/test_send_command.py holds it
to the schema).
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.template import ROOT, TEMPLATE_PATH
from twilio_inbound.cloudevent import EVENT_SOURCE

SCHEMAS = ROOT / "schemas"
PYTHON_CLIENT = ROOT / "clients" / "python"
PYTHON_MODELS = PYTHON_CLIENT / "twilio_inbound_client" / "models"
TYPESCRIPT = ROOT / "clients" / "typescript"
TYPESCRIPT_TYPES = TYPESCRIPT / "types"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Shape:
    schema: str  # file under schemas/
    name: str  # the model's and the interface's name
    event: bool  # a published event (open to fields added later), else the send command (closed)

    @property
    def module(self) -> str:
        return self.schema.split(".")[0].replace("-", "_")

    @property
    def stem(self) -> str:
        return self.schema.split(".")[0]


SHAPES = (
    Shape("message-received.v1.json", "MessageReceived", event=True),
    Shape("media-archived.v1.json", "MediaArchived", event=True),
    Shape("message-status.v1.json", "MessageStatus", event=True),
    Shape("send-command.v1.json", "SendCommandFields", event=False),
)
EVENT_SHAPES = tuple(shape for shape in SHAPES if shape.event)


def load_schema(shape: Shape) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SCHEMAS / shape.schema).read_text(encoding="utf-8"))
    return document


def codegen_document(shape: Shape) -> dict[str, Any]:
    document = copy.deepcopy(load_schema(shape))
    document["title"] = shape.name
    document.pop("allOf", None)
    return document


def _run(command: list[str], cwd: Path = ROOT) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command[:2])} failed:\n{result.stdout}{result.stderr}")


# ---------------------------------------------------------------- Python: the client package's models
PYTHON_OPTIONS = (
    "--input-file-type=jsonschema",
    "--output-model-type=pydantic_v2.BaseModel",
    "--target-python-version=3.11",
    "--use-annotated",
    "--use-double-quotes",
    "--collapse-root-models",
    "--use-type-alias",
    "--enum-field-as-literal=all",
    "--allow-population-by-field-name",
    "--use-field-description",
    "--use-schema-description",
    "--disable-timestamp",
    "--formatters=builtin",
)


def _generate(out: Path, command: Callable[[Shape, Path], tuple[list[str], Path]]) -> list[Path]:
    """Runs a generator once per schema, on its codegen document; `command` gives the command line and the file
    it writes for (shape, the document's path)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as work:
        for shape in SHAPES:
            source = Path(work) / shape.schema
            source.write_text(json.dumps(codegen_document(shape), indent=2), encoding="utf-8")
            arguments, target = command(shape, source)
            _run(arguments)
            written.append(target)
    return written


def python_models(out: Path) -> list[Path]:
    """One module per schema: events keep fields they do not know (a later minor version may add some), the send
    command refuses them (as the sender does)."""

    def datamodel_codegen(shape: Shape, source: Path) -> tuple[list[str], Path]:
        target = out / f"{shape.module}.py"
        extra = "allow" if shape.event else "forbid"
        options = [f"--extra-fields={extra}", *PYTHON_OPTIONS]
        return [str(BIN / "datamodel-codegen"), f"--input={source}", f"--output={target}", *options], target

    written = _generate(out, datamodel_codegen)
    _run([str(BIN / "ruff"), "format", "--quiet", "--config", str(ROOT / "pyproject.toml"), *map(str, written)])
    return written


# ---------------------------------------------------------------- TypeScript types
def typescript_types(out: Path) -> list[Path]:
    json2ts = TYPESCRIPT / "node_modules" / ".bin" / "json2ts"
    if not json2ts.exists():
        raise RuntimeError(f"{json2ts} is missing: `make typescript` installs it (npm ci, from the lockfile)")

    def json_schema_to_typescript(shape: Shape, source: Path) -> tuple[list[str], Path]:
        target = out / f"{shape.stem}.d.ts"
        options = ["--maxItems", "-1", "--bannerComment", _BANNER]
        return [str(json2ts), "--input", str(source), "--output", str(target), *options], target

    return _generate(out, json_schema_to_typescript)


_BANNER = "/* Generated from schemas/ by `make generate` (json-schema-to-typescript): do not edit. */"


# ---------------------------------------------------------------- the EventBridge schema registry's documents


def _draft4(node: Any) -> Any:
    """A 2020-12 schema node in Draft 4: `const` is a one-value `enum`, `$defs` are `definitions` (and the refs
    into them follow). Every other keyword our schemas use (type lists, oneOf/anyOf/not, pattern, bounds,
    additionalProperties, maxItems) means the same in both."""
    if isinstance(node, list):
        return [_draft4(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted: dict[str, Any] = {}
    for key, value in node.items():
        if key == "const":
            converted["enum"] = [value]
        elif key == "$defs":
            converted["definitions"] = _draft4(value)
        elif key == "$ref":
            converted["$ref"] = value.replace("#/$defs/", "#/definitions/")
        elif key not in ("$schema", "$id"):
            converted[key] = _draft4(value)
    return converted


def registry_document(shape: Shape) -> dict[str, Any]:
    """What arrives on the bus for this event, for AWS's code bindings: EventBridge's envelope, `detail-type` the
    CloudEvent's type, `source` ours, and `detail` the CloudEvent as schemas/ defines it."""
    schema = load_schema(shape)
    # the schema's examples are for readers (docs/reference/events.md); `examples` is no Draft 4 keyword
    cloud_event = _draft4({key: value for key, value in schema.items() if key != "examples"})
    definitions = cloud_event.pop("definitions", {})
    event_type = schema["properties"]["type"]["const"]
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": f"{shape.name}Event",
        "description": f"EventBridge event carrying {event_type}: detail is the CloudEvent ({shape.schema}).",
        "type": "object",
        "required": ["detail-type", "source", "detail"],
        "properties": {
            "version": {"type": "string"},
            "id": {
                "type": "string",
                "description": "EventBridge's own id (a replay gives a new one): dedupe on detail.id.",
            },
            "detail-type": {"enum": [event_type]},
            "source": {"enum": [EVENT_SOURCE]},
            "account": {"type": "string"},
            "time": {"type": "string"},
            "region": {"type": "string"},
            "resources": {"type": "array", "items": {"type": "string"}},
            "replay-name": {"type": "string", "description": "Present on an event an archive replay sent again."},
            "detail": cloud_event,
        },
        "definitions": definitions,
    }


def registry_content(shape: Shape) -> str:
    """The schema's Content as the template holds it (one compact line)."""
    return json.dumps(registry_document(shape), separators=(",", ":"), ensure_ascii=False)


def schema_resource(shape: Shape) -> str:
    """The template's AWS::EventSchemas::Schema of this event (MessageReceivedSchema, ...)."""
    return f"{shape.name}Schema"


def template_with_registry(text: str) -> str:
    """template.yaml with each schema resource's Content line written from schemas/ (YAML single quotes)."""
    for shape in EVENT_SHAPES:
        pattern = re.compile(rf"(\n  {schema_resource(shape)}:\n(?:    .*\n)*?      Content: ).*\n")
        line = "'" + registry_content(shape).replace("'", "''") + "'\n"
        text, found = pattern.subn(lambda match: match.group(1) + line, text)  # noqa: B023 (used at once)
        if found != 1:
            raise ValueError(f"template.yaml has no Content line in {schema_resource(shape)}")
    return text


# ---------------------------------------------------------------- writing, checking
GENERATED: dict[Path, Callable[[Path], list[Path]]] = {PYTHON_MODELS: python_models, TYPESCRIPT_TYPES: typescript_types}


def differences() -> list[str]:
    """The generated files that differ from a fresh generation (missing, extra or changed)."""
    template = TEMPLATE_PATH.read_text(encoding="utf-8")
    found = [] if template_with_registry(template) == template else [TEMPLATE_PATH.name]
    for checked_in, generate in GENERATED.items():
        with tempfile.TemporaryDirectory() as fresh:
            names = {path.name for path in generate(Path(fresh))}
            for name in sorted(names):
                current = checked_in / name
                if not current.exists() or current.read_text(encoding="utf-8") != (Path(fresh) / name).read_text(
                    encoding="utf-8"
                ):
                    found.append(str(current.relative_to(ROOT)))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.codegen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare with a fresh generation instead of writing")
    args = parser.parse_args(argv)
    if args.check:
        stale = differences()
        for name in stale:
            print(f"stale: {name} (run `make generate`)")
        return 1 if stale else 0
    for checked_in, generate in GENERATED.items():
        with tempfile.TemporaryDirectory() as fresh:
            for path in generate(Path(fresh)):
                shutil.copyfile(path, checked_in / path.name)
                print(f"wrote {(checked_in / path.name).relative_to(ROOT)}")
    TEMPLATE_PATH.write_text(template_with_registry(TEMPLATE_PATH.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {TEMPLATE_PATH.name}: the schema registry's Content")
    return 0


if __name__ == "__main__":
    sys.exit(main())
