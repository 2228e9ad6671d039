"""The ``lintcap`` command line.

Exit codes: 0 no finding at or above ``--fail-on``; 1 findings; 2 usage,
configuration or internal error. Bad input data is never an error here: it is
a finding in the report.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from lintcap import __version__
from lintcap.caption.nlp import ModelLoadError
from lintcap.config import Config, ConfigError, find_config, load_config
from lintcap.engine.run import lint, load_rulebook
from lintcap.engine.select import SelectionError, select_rules
from lintcap.engine.spec import RuleFileError
from lintcap.models import Severity
from lintcap.report import FORMATS

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
_SEVERITIES = [s.value for s in Severity]


class UserError(click.ClickException):
    """An error in what the user gave us: printed without a traceback, exit 2."""

    exit_code = EXIT_ERROR


def _codes(values: tuple[str, ...]) -> list[str]:
    """``--select C,F001 --select A`` → ``["C", "F001", "A"]``."""
    return [code.strip().upper() for value in values for code in value.split(",") if code.strip()]


def _load_config(paths: tuple[Path, ...], config_path: Path | None, isolated: bool) -> Config:
    if isolated:
        return Config()
    found = config_path or (find_config(paths[0]) if paths else find_config(Path.cwd()))
    return load_config(found)


def _override(config: Config, **flags: Any) -> Config:
    """CLI flags win over the file: select replaces, ignore extends."""
    update: dict[str, Any] = {}
    for key in ("trigger", "preset", "fail_on"):
        if flags.get(key) is not None:
            update[key] = flags[key]
    if flags.get("select"):
        update["select"] = flags["select"]
    if flags.get("extend_select"):
        update["extend_select"] = [*config.extend_select, *flags["extend_select"]]
    if flags.get("ignore"):
        update["ignore"] = [*config.ignore, *flags["ignore"]]
    if flags.get("caption_extension"):
        update["caption_extension"] = list(flags["caption_extension"])
    merged = {**config.model_dump(), **update}
    try:
        result = Config.model_validate(merged)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    result.source = config.source
    return result


class _Group(click.Group):
    """Turn our own exceptions into clean messages; nothing else escapes as a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigError, RuleFileError, SelectionError, ModelLoadError) as exc:
            raise UserError(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:  # a bug in lintcap: say so, exit 2
            if os.environ.get("LINTCAP_DEBUG"):
                traceback.print_exc()
            raise UserError(
                f"internal error: {type(exc).__name__}: {exc} "
                "(set LINTCAP_DEBUG=1 for a traceback, and please report it)"
            ) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lintcap")
def cli() -> None:
    """lintcap: lint LoRA training datasets before GPU money is spent."""


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Config file (lintcap.toml or pyproject.toml); default: searched upward.",
)
@click.option("--isolated", is_flag=True, help="Ignore every config file.")
@click.option("--preset", help="Rule preset: flux-character (default), flux-style, sdxl-tags.")
@click.option("--trigger", help="Trigger word (default: from config, else inferred).")
@click.option(
    "--select",
    multiple=True,
    metavar="CODES",
    help="Only these codes or prefixes (replaces the preset's selection).",
)
@click.option(
    "--extend-select", multiple=True, metavar="CODES", help="Add these codes or prefixes."
)
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these codes or prefixes.")
@click.option(
    "--caption-extension",
    multiple=True,
    metavar="EXT",
    help="Caption file extension (default .txt; kohya's default is .caption).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(FORMATS)),
    default="text",
    show_default=True,
)
@click.option(
    "--fail-on",
    type=click.Choice(_SEVERITIES),
    default=None,
    help="Lowest severity that fails the run (default: error).",
)
@click.option("--statistics", is_flag=True, help="Also print the number of findings per code.")
def check(
    paths: tuple[Path, ...],
    config_path: Path | None,
    isolated: bool,
    preset: str | None,
    trigger: str | None,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    caption_extension: tuple[str, ...],
    output_format: str,
    fail_on: str | None,
    statistics: bool,
) -> None:
    """Check the datasets at PATHS (folders, or single images and captions)."""
    config = _override(
        _load_config(paths, config_path, isolated),
        trigger=trigger,
        preset=preset,
        fail_on=fail_on,
        select=_codes(select) or None,
        extend_select=_codes(extend_select),
        ignore=_codes(ignore),
        caption_extension=caption_extension,
    )
    result = lint(list(paths), config)
    stream = sys.stdout
    FORMATS[output_format](result, stream)
    if statistics and output_format == "text":
        _print_statistics(result.diagnostics, stream)
    threshold = Severity(config.fail_on).rank
    failed = any(d.severity.rank >= threshold for d in result.diagnostics)
    sys.exit(EXIT_FINDINGS if failed else EXIT_CLEAN)


def _print_statistics(diagnostics: list[Any], stream: Any) -> None:
    counts: dict[tuple[str, str, str], int] = {}
    for d in diagnostics:
        key = (d.code, d.name, d.severity.value)
        counts[key] = counts.get(key, 0) + 1
    table = Table(title="Findings per code")
    for column in ("count", "code", "rule", "severity"):
        table.add_column(column, justify="right" if column == "count" else "left")
    for (code, name, severity), count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(str(count), code, name, severity)
    Console(file=stream).print(table)


@cli.group()
def rules() -> None:
    """List the rules and explain why each matters."""


@rules.command("list")
@click.option("--preset", help="Mark which rules this preset runs (default: from config).")
@click.option(
    "--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def rules_list(preset: str | None, config_path: Path | None) -> None:
    """Every rule: code, name, scope, severity, and whether the preset runs it."""
    config = _load_config((), config_path, isolated=False)
    book = load_rulebook(config)
    preset = preset or config.preset
    enabled = {r.code: r for r in select_rules(book, preset, None, [], [])}
    table = Table(title=f"lintcap rules (preset {preset})")
    for column in ("code", "name", "scope", "severity", "on", "fix", "message"):
        table.add_column(column, overflow="fold")
    for rule in book.rules:
        shown = enabled.get(rule.code, rule)
        table.add_row(
            rule.code,
            rule.name,
            rule.scope,
            shown.severity.value,
            "yes" if rule.code in enabled else "no",
            rule.fix.safety if rule.fix else "",
            rule.message,
        )
    Console(file=sys.stdout, width=200).print(table)


@rules.command("explain")
@click.argument("code")
def rules_explain(code: str) -> None:
    """Print a rule's description and why it matters for training."""
    book = load_rulebook(Config())
    rule = book.rule(code.upper())
    if rule is None:
        raise UserError(f"no rule {code!r}; see `lintcap rules list`")
    out = sys.stdout
    out.write(f"{rule.code} {rule.name} ({rule.scope}, {rule.severity.value})\n\n")
    out.write(f"Message: {rule.message}\n")
    if rule.fix:
        out.write(f"Fix ({rule.fix.safety}): {rule.fix.description}\n")
    out.write(f"\nWhy it matters:\n{' '.join(rule.why.split())}\n")


def main() -> None:
    cli(prog_name="lintcap")
