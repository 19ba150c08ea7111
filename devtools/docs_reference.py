"""The documentation site's reference pages, generated from the code so they cannot drift, and its mkdocs hooks.

    make reference      (or: python -m devtools.docs_reference) writes docs/reference/*.md

Events and commands come from schemas/, the command line from the CLI's own argparse parser, parameters,
outputs and alarms from template.yaml (read with cfn-lint's loader, as the local stack reads it). The pages are
checked in, so they read on GitHub too; the site's build (`make docs`, and `make test` through
tests/unit/test_docs.py) fails when one differs from what this module generates.

mkdocs loads this module as a hook (mkdocs.yml `hooks:`): before a build it refuses stale reference pages; it
adds the repository's root pages (CHANGELOG, CONTRIBUTING, SECURITY) to the site and rewrites links between
them and docs/ so that one relative link works on GitHub and on the site; and it serves mermaid's pinned bundle
(`make mermaid`) so that no diagram is fetched from a CDN.
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import re
import sys
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

from devtools.template import ROOT, load_template

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

DOCS = ROOT / "docs"
SCHEMAS = ROOT / "schemas"
ROOT_PAGES = ("CHANGELOG.md", "CONTRIBUTING.md", "SECURITY.md")  # repository files that are also site pages
MERMAID_JS = ROOT / ".venv" / "mermaid" / "mermaid.min.js"  # `make mermaid`
MERMAID_SITE_PATH = "javascripts/mermaid.min.js"  # mkdocs.yml extra_javascript
USAGE_COLUMNS = 100  # usage lines wrap at this width


def _header(source: str) -> str:
    return f"<!-- Generated from {source} by devtools/docs_reference.py: edit the source, then `make reference`. -->\n"


def _text(value: str) -> str:
    """Plain text for a table cell or a paragraph: one line, markup outside `code` spans escaped."""
    parts = " ".join(value.split()).split("`")
    for index in range(0, len(parts), 2):
        parts[index] = parts[index].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        parts[index] = parts[index].replace("*", r"\*")
    return "`".join(parts).replace("|", r"\|")


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows] + [""]


# ---------------------------------------------------------------------------------------------- schemas/


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{key: value for key, value in node.items() if key != "$ref"}}
    return node


def _type(node: dict[str, Any], root: dict[str, Any]) -> str:
    if "$ref" in node and _resolve(node, root).get("type") != "object":
        return f"_{node['$ref'].rsplit('/', 1)[-1]}_"  # a named type of $defs: described under the table
    node = _resolve(node, root)
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return "one of " + ", ".join(f"`{json.dumps(value)}`" for value in node["enum"])
    for key in ("oneOf", "anyOf"):
        if key in node:
            return " or ".join(dict.fromkeys(_type(variant, root) for variant in node[key]))
    kinds = node.get("type", "any")
    text = " or ".join(kinds) if isinstance(kinds, list) else kinds
    limits = {
        "pattern": "matching `{}`",
        "minLength": "at least {} character(s)",
        "maxLength": "at most {} characters",
        "minimum": "≥ {}",
        "maxItems": "at most {} items",
    }
    shown = [template.format(node[key]) for key, template in limits.items() if key in node]
    return text + (f" ({', '.join(shown)})" if shown else "")


def _fields(node: dict[str, Any], root: dict[str, Any], path: str) -> Iterator[tuple[str, str, bool, str]]:
    """(field path, type, required, description) of an object's properties, nested ones flattened."""
    node = _resolve(node, root)
    required = set(node.get("required", []))
    for name, child in node.get("properties", {}).items():
        full = f"{path}.{name}" if path else name
        yield full, _type(child, root), name in required, _resolve(child, root).get("description", "")
        yield from _nested(child, root, full)


def _nested(node: dict[str, Any], root: dict[str, Any], path: str) -> Iterator[tuple[str, str, bool, str]]:
    node = _resolve(node, root)
    if "properties" in node:
        yield from _fields(node, root, path)
    if "items" in node:
        yield from _nested(node["items"], root, path + "[]")
    variants = [_resolve(variant, root) for variant in node.get("oneOf", []) + node.get("anyOf", [])]
    objects = [variant for variant in variants if "properties" in variant]
    if objects:
        # A field of one variant only (a media entry's bucket when archived) is not required of every entry.
        everywhere = set.intersection(*(set(variant.get("required", [])) for variant in objects))
        for variant in objects:
            for field, kind, required, description in _fields(variant, root, path):
                own = field.removeprefix(path + ".")
                yield field, kind, required and (own in everywhere or own != own.split(".")[0]), description


def _field_table(schema: dict[str, Any]) -> list[str]:
    """One row per field path; a field of several variants (oneOf) is merged: its types joined, required only
    when every variant requires it."""
    merged: dict[str, tuple[list[str], list[bool], str]] = {}
    for path, kind, required, description in _fields(schema, schema, ""):
        kinds, requirements, text = merged.setdefault(path, ([], [], description))
        kinds.append(kind)
        requirements.append(required)
        merged[path] = (kinds, requirements, text or description)
    rows = [
        (f"`{path}`", _text(" or ".join(dict.fromkeys(kinds))), "yes" if all(requirements) else "", _text(text))
        for path, (kinds, requirements, text) in merged.items()
    ]
    named = [
        f"- _{name}_: {_text(_type({key: value for key, value in node.items() if key != 'description'}, schema))}"
        for name, node in schema.get("$defs", {}).items()
        if node.get("type") != "object"
    ]
    return _table(("field", "type", "required", "description"), rows) + ([*named, ""] if named else [])


def _rules(schema: dict[str, Any]) -> list[str]:
    """The schema's allOf rules (a command's either/or requirements), one line each."""
    lines = []
    for rule in schema.get("allOf", []):
        for key in ("anyOf", "oneOf"):
            if key in rule:
                options = [" and ".join(f"`{name}`" for name in variant["required"]) for variant in rule[key]]
                how_many = "exactly one" if key == "oneOf" else "at least one"
                what = _text(rule.get("description", "")).rstrip(".")
                lines.append(f"- {what}: {', or '.join(options)} ({how_many}).")
    return [*lines, ""] if lines else []


def _examples(schema: dict[str, Any]) -> list[str]:
    lines = []
    for example in schema.get("examples", []):
        lines += ["```json", json.dumps(example, indent=2, ensure_ascii=False), "```", ""]
    return lines


def _schemas() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, json.loads(path.read_text(encoding="utf-8"))) for path in sorted(SCHEMAS.glob("*.json"))]


def _is_event(schema: dict[str, Any]) -> bool:
    return "specversion" in schema.get("properties", {})


def events_page() -> str:
    lines = [
        _header("schemas/"),
        "# Events",
        "",
        "Every event is a CloudEvents 1.0 JSON document (structured mode), the body of an SNS message on the "
        "`MessagesTopicArn` topic. Delivery is at least once: dedupe on `id`. How to subscribe and filter: "
        "[Subscribe a service](../guides/subscribe.md).",
        "",
    ]
    events = [(name, schema) for name, schema in _schemas() if _is_event(schema)]
    # the event every subscriber reads first, then the others by name
    for name, schema in sorted(events, key=lambda event: event[0] != "message-received.v1.json"):
        event_type = schema["properties"]["type"]["const"]
        lines += [f"## {event_type}", "", _text(schema.get("description", "")), ""]
        lines += [f"Schema: `schemas/{name}`, `dataschema` `{schema['$id']}`.", ""]
        lines += _field_table(schema) + _rules(schema)
        lines += ["### Example", "", *_examples(schema)] if schema.get("examples") else []
    return "\n".join(lines).rstrip() + "\n"


def commands_page() -> str:
    lines = [
        _header("schemas/"),
        "# Commands",
        "",
        "The JSON documents a service puts on the stack's queues. A command that does not match its schema goes "
        "to the queue's dead-letter queue with the reason, never retried. How to send: "
        "[Send and reply](../guides/send-and-reply.md).",
        "",
    ]
    for name, schema in _schemas():
        if _is_event(schema):
            continue
        lines += [f"## {schema['title']}", "", _text(schema.get("description", "")), ""]
        lines += [f"Schema: `schemas/{name}` (`{schema['$id']}`).", ""]
        lines += _field_table(schema) + _rules(schema)
        lines += ["### Examples", "", *_examples(schema)] if schema.get("examples") else []
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------- the CLI


def _subcommands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, subparser in action.choices.items():
                yield name, helps.get(name, ""), subparser


def _option(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    takes_value = action.nargs != 0
    value = f" {action.metavar or action.dest.upper()}" if takes_value else ""
    return ", ".join(f"`{flag}{value}`" for flag in action.option_strings)


def _meaning(action: argparse.Action) -> str:
    text = action.help or ""
    if "%(" in text:
        text = text % {"default": action.default, "choices": action.choices, "dest": action.dest}
    notes = []
    if action.choices and not isinstance(action, argparse._SubParsersAction):
        notes.append("one of " + ", ".join(f"`{choice}`" for choice in action.choices))
    if action.required and action.option_strings:
        notes.append("required")
    if isinstance(action, argparse._AppendAction) and "repeatable" not in text:
        notes.append("repeatable")
    return _text(text + "".join(f" ({note})" for note in notes))


def _default(action: argparse.Action) -> str:
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS, [], ""):
        return ""
    return f"`{action.default}`"


def _usage(prog: str, parser: argparse.ArgumentParser) -> str:
    """The usage line, built here rather than by argparse, whose layout changes between Python versions: options,
    then positionals, then the subcommand; an item never breaks across lines."""
    options: list[str] = []
    positionals: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            positionals.append(str(action.metavar or "COMMAND"))
            continue
        flag = action.option_strings[-1] if action.option_strings else ""
        value = str(action.metavar or (action.dest.upper() if flag else action.dest))
        text = f"{flag} {value}" if flag and action.nargs != 0 else flag or value
        optional = (flag and not action.required) or action.nargs == "?"
        (options if flag else positionals).append(f"[{text}]" if optional else text)
    items = [item.replace(" ", "\N{NO-BREAK SPACE}") for item in [prog, *options, *positionals]]
    wrapped = textwrap.fill(
        " ".join(items), USAGE_COLUMNS, subsequent_indent=" " * (len(prog) + 1), break_on_hyphens=False
    )
    return wrapped.replace("\N{NO-BREAK SPACE}", " ")


def _command_section(prog: str, summary: str, parser: argparse.ArgumentParser, level: int) -> list[str]:
    lines = [f"{'#' * level} {prog}", ""]
    if summary:
        lines += [_text(summary[0].upper() + summary[1:]) + ".", ""]
    lines += ["```text", _usage(prog, parser), "```", ""]
    if parser.description and level > 1:
        raw = parser.formatter_class is argparse.RawDescriptionHelpFormatter
        paragraphs = parser.description.strip().split("\n\n")
        lines += ["```text", parser.description.strip(), "```", ""] if raw else [_text(p) + "\n" for p in paragraphs]
    shown = [
        action
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
    ]
    if shown:
        rows = [(_option(action), _meaning(action), _default(action)) for action in shown]
        lines += _table(("option", "meaning", "default"), rows)
    for group in parser._mutually_exclusive_groups:
        names = ", ".join(_option(action) for action in group._group_actions)
        lines += [f"{'Exactly' if group.required else 'At most'} one of {names}.", ""]
    for name, help_text, subparser in _subcommands(parser):
        lines += _command_section(f"{prog} {name}", help_text, subparser, min(level + 1, 3))
    return lines


def cli_page() -> str:
    from twilio_inbound_cli.main import build_parser

    # Some defaults come from the environment ($TWILIO_API_URL, $TWILIO_AUTH_TOKEN): the page shows none of a
    # shell's (or of an earlier test's), so it is the same wherever it is generated.
    with mock.patch.dict(os.environ, {}, clear=True):
        parser = build_parser()
    lines = [
        _header("the CLI's parser (cli/twilio_inbound_cli/main.py)"),
        "# Command line",
        "",
        "`twilio-inbound` operates a deployed stack (`--stack-name NAME`, with your AWS credentials) or the "
        "running local one (no `--stack-name`). Install it with `pipx install .` from a clone (it needs only "
        "boto3, twilio and tqdm), or use `.venv/bin/twilio-inbound` after `make venv`. Every command has "
        "`--help`. Long runs (`reconcile`, `replay`, `media replay`) show progress on a terminal (stderr); "
        "piped, they print only their JSON result.",
        "",
    ]
    lines += _command_section("twilio-inbound", "", parser, 1)[2:]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------- template.yaml


def _show(value: Any) -> str:
    """A template value as a reader sees it: !Ref X -> X, !GetAtt X.Y -> X.Y, !Sub "..." -> the string."""
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return str(argument)
        if function == "Fn::GetAtt":
            return ".".join(argument) if isinstance(argument, list) else str(argument)
        if function == "Fn::Sub":
            return str(argument if isinstance(argument, str) else argument[0])
    return str(value) if not isinstance(value, dict | list) else json.dumps(value)


def _allowed(parameter: dict[str, Any]) -> str:
    if "AllowedValues" in parameter:
        return ", ".join(f"`{value}`" for value in parameter["AllowedValues"])
    shown = []
    if "AllowedPattern" in parameter:
        shown.append(f"matching `{parameter['AllowedPattern']}`")
    if "MinValue" in parameter:
        shown.append(f"≥ {parameter['MinValue']}")
    if "MaxValue" in parameter:
        shown.append(f"≤ {parameter['MaxValue']}")
    if "MaxLength" in parameter:
        shown.append(f"at most {parameter['MaxLength']} characters")
    return _text(", ".join(shown))


def template_page() -> str:
    template = load_template()
    version = template.get("Metadata", {}).get("TwilioInbound", {}).get("Version", "")
    parameter_rows = [
        (
            f"`{name}`",
            parameter["Type"],
            f"`{parameter['Default']}`" if "Default" in parameter and parameter["Default"] != "" else
            ("(empty)" if "Default" in parameter else "**required**"),
            _allowed(parameter),
            _text(parameter.get("Description", "")),
        )
        for name, parameter in template["Parameters"].items()
    ]  # fmt: skip
    output_rows = [
        (
            f"`{name}`",
            _text(output.get("Description", "")),
            f"`{_show(output['Export']['Name'])}`" if "Export" in output else "",
            f"`{output['Condition']}`" if "Condition" in output else "",
        )
        for name, output in template["Outputs"].items()
    ]
    lines = [
        _header("template.yaml"),
        "# Template parameters and outputs",
        "",
        f"`template.yaml` (version {version}): set parameters with `sam deploy --guided` or "
        "`--parameter-overrides NAME=VALUE`, and locally with `make local ARGS='--parameter NAME=VALUE'`. "
        "The CLI finds a deployed stack's resources through its outputs (`--stack-name`); the local stack "
        "writes the same keys to `.local/stack-outputs.json`.",
        "",
        "## Parameters",
        "",
        *_table(("parameter", "type", "default", "allowed", "description"), parameter_rows),
        "## Outputs",
        "",
        "`${AWS::StackName}` in an export name is the stack's name: import it with `!ImportValue`.",
        "",
        *_table(("output", "description", "export", "only when"), output_rows),
    ]
    return "\n".join(lines).rstrip() + "\n"


COMPARISONS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": "≥",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "≤",
}
ALARM_MONTHLY_USD = 0.10  # a standard-resolution alarm, us-east-1 list price


def _fires_when(properties: dict[str, Any]) -> str:
    dimensions = ", ".join(f"{item['Name']}={_show(item['Value'])}" for item in properties.get("Dimensions", []))
    periods = properties["EvaluationPeriods"]
    needed = properties.get("DatapointsToAlarm", periods)
    window = f"{needed} of {periods} periods" if needed != periods else f"{periods} period{'s' * (periods > 1)}"
    return (
        f"`{properties['Namespace']}` `{properties['MetricName']}` ({dimensions}), {properties['Statistic']} over "
        f"{properties['Period']} s {COMPARISONS[properties['ComparisonOperator']]} {properties['Threshold']} "
        f"in {window}; missing data: {properties.get('TreatMissingData', 'missing')}"
    )


def alarms_page() -> str:
    template = load_template()
    alarms = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    lines = [
        _header("template.yaml"),
        "# Alarms",
        "",
        f"The stack has {len(alarms)} CloudWatch alarms (about ${len(alarms) * ALARM_MONTHLY_USD:.2f} a month at "
        f"${ALARM_MONTHLY_USD:.2f} each). Each notifies the `AlarmTopicArn` output when it fires and when it "
        "recovers; its description, below, is in the notification. What to do for each, and the dashboard: "
        "[Operate it](../guides/operate.md).",
        "",
    ]
    for name, alarm in alarms.items():
        properties = alarm["Properties"]
        lines += [f"## {name}", "", f"**Fires when** {_fires_when(properties)}.", ""]
        if "Condition" in alarm:
            lines += [f"Only when `{alarm['Condition']}`.", ""]
        lines += [_text(properties.get("AlarmDescription", "")), ""]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------- the pages

GENERATED = {
    "reference/events.md": events_page,
    "reference/commands.md": commands_page,
    "reference/cli.md": cli_page,
    "reference/template.md": template_page,
    "reference/alarms.md": alarms_page,
}


def stale_pages(docs: Path = DOCS) -> list[str]:
    """The generated pages whose file in docs/ differs from what the code gives now (or is missing)."""
    stale = []
    for name, render in GENERATED.items():
        path = docs / name
        if not path.exists() or path.read_text(encoding="utf-8") != render():
            stale.append(f"docs/{name}")
    return stale


def write_pages() -> list[str]:
    """Writes every generated page; returns the ones that changed."""
    changed = []
    for name, render in GENERATED.items():
        path, text = DOCS / name, render()
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(f"docs/{name}")
    return changed


# ---------------------------------------------------------------------------------------------- mkdocs hooks

_LINK = re.compile(r"(\]\()([^)\s#]+)(#[^)\s]*)?(\s+\"[^\"]*\")?\)")


def _repository_path(page: Page) -> str:
    src_uri: str = page.file.src_uri
    return src_uri if src_uri in ROOT_PAGES else f"docs/{src_uri}"


def site_link(page_path: str, target: str) -> str | None:
    """The link from the page at `page_path` (in the repository) to `target` as the site needs it, for a target
    that is a page (under docs/, or a root page); None for anything else (an address, a file of the code)."""
    if "://" in target or target.startswith(("mailto:", "/")):
        return None
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page_path), target))
    if resolved not in ROOT_PAGES and not resolved.startswith("docs/"):
        return None
    in_site = resolved.removeprefix("docs/")
    page_in_site = page_path.removeprefix("docs/")
    return posixpath.relpath(in_site, posixpath.dirname(page_in_site) or ".")


def on_pre_build(config: MkDocsConfig) -> None:
    from mkdocs.exceptions import PluginError

    stale = stale_pages(DOCS)
    if stale:
        raise PluginError(f"{', '.join(stale)} differ from the code they are generated from: run `make reference`")
    if not MERMAID_JS.exists():
        raise PluginError(f"{MERMAID_JS.relative_to(ROOT)} is missing: run `make mermaid` (npm, pinned)")


def on_files(files: Files, config: MkDocsConfig) -> Files:
    from mkdocs.structure.files import File

    for name in ROOT_PAGES:
        files.append(File.generated(config, name, content=(ROOT / name).read_text(encoding="utf-8")))
    files.append(File.generated(config, MERMAID_SITE_PATH, abs_src_path=str(MERMAID_JS)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    page_path = _repository_path(page)

    def rebase(match: re.Match[str]) -> str:
        link = site_link(page_path, match[2])
        return match[0] if link is None else f"{match[1]}{link}{match[3] or ''}{match[4] or ''})"

    return _LINK.sub(rebase, markdown)


def main() -> None:
    changed = write_pages()
    print("\n".join(f"wrote {name}" for name in changed) or "docs/reference/ is up to date", file=sys.stderr)


if __name__ == "__main__":
    main()
