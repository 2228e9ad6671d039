"""The ``lintcap`` command line.

Exit codes: 0 no finding at or above ``--fail-on``; 1 findings; 2 usage,
configuration or internal error. Bad input data is never an error here: it is
a finding in the report.
"""

from __future__ import annotations

import gc
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lintcap import __version__
from lintcap.report import FORMATS

if TYPE_CHECKING:
    from lintcap.config import Config
    from lintcap.engine.spec import RuleBook

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
#: The severities, lowest first (lintcap.models.Severity, spelled out here
#: so that building the command line imports no model).
_SEVERITIES = ["info", "warning", "error"]

#: Exceptions that are the user's to fix, by module: printed as one line, exit
#: 2. Looked up in sys.modules when one escapes (a class whose module was
#: never imported cannot have been raised), so the command line imports none.
_USER_ERRORS = (
    ("lintcap.config", "ConfigError"),
    ("lintcap.engine.spec", "RuleFileError"),
    ("lintcap.engine.select", "SelectionError"),
    ("lintcap.caption.nlp", "ModelLoadError"),
    ("lintcap.image.people", "PeopleBackendUnavailable"),
    ("lintcap.image.text", "TextBackendUnavailable"),
    ("lintcap.fix.llm.backends", "LlmError"),
    ("lintcap.engine.patterns", "PatternTimeout"),
)


def _user_errors() -> tuple[type[BaseException], ...]:
    found = []
    for module_name, class_name in _USER_ERRORS:
        module = sys.modules.get(module_name)
        if module is not None:
            found.append(getattr(module, class_name))
    return tuple(found)


class UserError(click.ClickException):
    """An error in what the user gave us: printed without a traceback, exit 2."""

    exit_code = EXIT_ERROR


def _codes(values: tuple[str, ...]) -> list[str]:
    """``--select C,F001 --select A`` → ``["C", "F001", "A"]``."""
    return [code.strip().upper() for value in values for code in value.split(",") if code.strip()]


def _load_config(paths: tuple[Path, ...], config_path: Path | None, isolated: bool) -> Config:
    from lintcap.config import Config, find_config, load_config

    if isolated:
        return Config()
    found = config_path or (find_config(paths[0]) if paths else find_config(Path.cwd()))
    return load_config(found)


def _override(config: Config, **flags: Any) -> Config:
    """CLI flags win over the file: select replaces, ignore extends."""
    from lintcap.config import Config

    update: dict[str, Any] = {}
    for key in ("trigger", "preset", "fail_on", "caption_source"):
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
    if flags.get("no_cache"):
        update["cache"] = False
    if flags.get("jobs"):
        update["jobs"] = flags["jobs"]
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
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except BrokenPipeError:
            raise  # `lintcap check | head`: main() leaves quietly
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:
            if isinstance(exc, _user_errors()):
                raise UserError(str(exc)) from None
            # a bug in lintcap: say so, exit 2
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


_DATASET_OPTIONS = [
    click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path)),
    click.option(
        "--config",
        "config_path",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Config file (lintcap.toml or pyproject.toml); default: searched upward.",
    ),
    click.option("--isolated", is_flag=True, help="Ignore every config file."),
    click.option("--preset", help="Rule preset: flux-character (default), flux-style, sdxl-tags."),
    click.option("--trigger", help="Trigger word (default: from config, else inferred)."),
    click.option(
        "--select",
        multiple=True,
        metavar="CODES",
        help="Only these codes or prefixes (replaces the preset's selection).",
    ),
    click.option(
        "--extend-select", multiple=True, metavar="CODES", help="Add these codes or prefixes."
    ),
    click.option("--ignore", multiple=True, metavar="CODES", help="Skip these codes or prefixes."),
    click.option(
        "--caption-extension",
        multiple=True,
        metavar="EXT",
        help="Caption file extension (default .txt; kohya's default is .caption).",
    ),
    click.option(
        "--caption-source",
        type=click.Choice(["auto", "sidecar", "metadata"]),
        default=None,
        help="Where captions come from when an image has a sidecar and a metadata.jsonl row "
        "(default auto: the sidecar, what ai-toolkit and kohya read).",
    ),
    click.option(
        "--fail-on",
        type=click.Choice(_SEVERITIES),
        default=None,
        help="Lowest severity that fails the run (default: error).",
    ),
    click.option(
        "--no-cache", is_flag=True, help="Analyse every image again; read and write no cache."
    ),
    click.option(
        "--jobs",
        type=click.IntRange(min=1),
        help="Processes for image analysis and for parsing 1,000 or more new captions "
        "(default: one per core).",
    ),
]


def _dataset_options(command: Any) -> Any:
    """The options every command that reads a dataset takes (check, fix)."""
    for option in reversed(_DATASET_OPTIONS):
        command = option(command)
    return command


def _config_from(options: dict[str, Any]) -> Config:
    """The config file's settings with the command line's flags on top."""
    return _override(
        _load_config(options["paths"], options["config_path"], options["isolated"]),
        trigger=options["trigger"],
        preset=options["preset"],
        fail_on=options["fail_on"],
        select=_codes(options["select"]) or None,
        extend_select=_codes(options["extend_select"]),
        ignore=_codes(options["ignore"]),
        caption_extension=options["caption_extension"],
        caption_source=options["caption_source"],
        no_cache=options["no_cache"],
        jobs=options["jobs"],
    )


_COLOR_OPTION = click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour the text output; auto follows NO_COLOR, FORCE_COLOR, then the terminal.",
)


@cli.command(
    epilog="""\b
Examples:
  lintcap check datasets/character            lint a dataset folder
  lintcap check data --select C --ignore C007 caption rules, but not C007
  lintcap check data -q                       the findings only
  lintcap check data --summary                counts per code only
  lintcap check data --format json -o out.json
  lintcap check data --write-baseline .lintcap-baseline.json
  lintcap check data --fix                    the same as `lintcap fix data`"""
)
@_dataset_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(FORMATS)),
    help="How findings are printed (github: workflow annotations; sarif: code scanning; "
    "junit: test report).",
    default="text",
    show_default=True,
)
@click.option(
    "-o",
    "--output-file",
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="Write the report to PATH instead of standard output.",
)
@_COLOR_OPTION
@click.option("-q", "--quiet", is_flag=True, help="Print the findings only, no summary.")
@click.option(
    "--concise",
    is_flag=True,
    help="Print only the findings that fail the run (at or above --fail-on), then one line "
    "of counts: what the pre-commit hook prints.",
)
@click.option(
    "--summary", is_flag=True, help="Print counts per code and the summary, not each finding."
)
@click.option("--show-fixes", is_flag=True, help="Show the edit of each fixable finding under it.")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="One line per finding, also for a code that fires on every caption "
    "(by default that code is one line with a count).",
)
@click.option(
    "--exit-zero", is_flag=True, help="Exit 0 even when findings remain (2 still means an error)."
)
@click.option(
    "--fix",
    "apply_fixes",
    is_flag=True,
    help="Apply the safe fixes, as `lintcap fix` does (with --unsafe-fixes, those too).",
)
@click.option("--unsafe-fixes", is_flag=True, help="With --fix: also apply the unsafe fixes.")
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Hide the findings recorded in FILE (default: `baseline` in the config).",
)
@click.option(
    "--write-baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help='Record every current finding in FILE and exit 0; with `baseline = "FILE"` in '
    "the config, only new findings are reported from then on.",
)
@click.option(
    "--add-ignores",
    is_flag=True,
    help="Add a per-file-ignores entry for every file with findings to the config "
    "(lintcap.toml is created beside the dataset when there is none) and exit 0.",
)
@click.option(
    "--statistics",
    is_flag=True,
    help="Also show counts per angle, framing, expression, gaze, medium, setting; caption "
    "lengths; tag frequencies; findings per code (in JSON: a 'statistics' object).",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="Also write a self-contained HTML report (contact sheet, variety, findings) to PATH.",
)
@click.option(
    "--job-summary",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Also append a Markdown summary (counts per code, the first findings) to PATH: "
    'on GitHub, "$GITHUB_STEP_SUMMARY".',
)
@click.option(
    "--whole-dataset",
    is_flag=True,
    help="Lint the whole dataset of each file given (its folder) and report the findings "
    "on those files and on the set: what the pre-commit hook runs.",
)
@click.pass_context
def check(
    ctx: click.Context,
    output_format: str,
    output_file: Path | None,
    color: str,
    quiet: bool,
    concise: bool,
    summary: bool,
    show_fixes: bool,
    verbose: bool,
    exit_zero: bool,
    apply_fixes: bool,
    unsafe_fixes: bool,
    baseline_path: Path | None,
    write_baseline: Path | None,
    add_ignores: bool,
    statistics: bool,
    html_path: Path | None,
    job_summary: Path | None,
    whole_dataset: bool,
    **options: Any,
) -> None:
    """Check the datasets at PATHS (folders, or single images and captions).

    Each finding is one line, `path:line:col: severity CODE message`; [*]
    marks what `lintcap fix` fixes, [~] what it fixes with --unsafe-fixes.
    Exit 0 when nothing reaches --fail-on, 1 when something does, 2 on a
    usage or configuration error."""
    if apply_fixes:
        ctx.invoke(
            fix_command,
            unsafe_fixes=unsafe_fixes,
            color=color,
            whole_dataset=whole_dataset,
            **options,
        )
        return
    if unsafe_fixes:
        raise click.UsageError("--unsafe-fixes needs --fix (or use `lintcap fix --unsafe-fixes`)")
    import io

    from lintcap.changed import concerning, dataset_folders, relevant_paths
    from lintcap.engine.run import lint
    from lintcap.report.output import OutputFileError, check_output_file, write_output_file
    from lintcap.report.target import dataset_file
    from lintcap.statistics import compute as compute_statistics

    config = _config_from(options)
    if html_path is not None:
        # The report's modules (jinja2) are imported only when one is asked for.
        from lintcap.report.html import HtmlReportError, check_writable

        if dataset_file(html_path, options["paths"], config.caption_extension):
            raise UserError(
                f"cannot write the HTML report to {html_path}: it is a file of the linted dataset"
            )
        try:
            check_writable(html_path)  # before a long run, not after it
        except HtmlReportError as exc:
            raise UserError(str(exc)) from None
    try:
        if output_file is not None:
            if dataset_file(output_file, options["paths"], config.caption_extension):
                raise OutputFileError(f"cannot write {output_file}: it is a file of the dataset")
            check_output_file(output_file)
    except OutputFileError as exc:
        raise UserError(str(exc)) from None
    paths = list(options["paths"])
    if whole_dataset:
        paths = relevant_paths(paths, config.caption_extension)
        if not paths:
            sys.exit(EXIT_CLEAN)  # pre-commit passed no caption or image
        result = lint(dataset_folders(paths), config)
        result.diagnostics = concerning(result.diagnostics, paths)
    else:
        config, note, book = _without_dataset_rules(config, paths)
        result = lint(paths, config, book)  # the rule files read once, not again
        result.notes += [note] if note else []
    _keep_to_the_end()
    _nothing_found(result, paths, config)
    if write_baseline is not None or add_ignores:
        _adopt(result, config, paths, write_baseline, add_ignores)
        sys.exit(EXIT_CLEAN)
    baseline_path = baseline_path or config.baseline
    if baseline_path is not None:
        from lintcap.baseline import BaselineError, filter_baseline

        try:
            result.diagnostics, result.baseline_hidden = filter_baseline(
                baseline_path, result.diagnostics, result.items
            )
        except BaselineError as exc:
            raise UserError(str(exc)) from None
    if statistics:
        result.statistics = compute_statistics(
            result.views, result.diagnostics, result.trigger, result.subject
        )
    out: Any = io.StringIO() if output_file is not None else sys.stdout
    if output_format == "text":
        from lintcap.report.text import TextOptions, use_color  # rich: for text only
        from lintcap.report.text import write as write_text

        text_options = TextOptions(
            color=use_color(color, out),  # type: ignore[arg-type]
            quiet=quiet,
            summary=summary,
            show_fixes=show_fixes,
            verbose=verbose,
            blocking=config.fail_on if concise else None,
        )
        write_text(result, out, text_options)
        if result.statistics is not None:
            from lintcap.report.statistics import write_statistics  # rich: only for these tables

            write_statistics(result.statistics, out)
    else:
        FORMATS[output_format](result, out)
    if output_file is not None:
        from lintcap.report.html import dataset_files

        try:
            write_output_file(output_file, out.getvalue(), protected=dataset_files(result))
        except OutputFileError as exc:
            raise UserError(str(exc)) from None
    if job_summary is not None:
        _append_job_summary(job_summary, result)
    if html_path is not None:
        from lintcap.report.html import HtmlReportError, write_html

        try:
            write_html(
                result, html_path, [str(p) for p in options["paths"]], config.jobs, config=config
            )
        except HtmlReportError as exc:
            raise UserError(str(exc)) from None
    failed = config.fails(result.diagnostics) and not exit_zero
    sys.exit(EXIT_FINDINGS if failed else EXIT_CLEAN)


def _keep_to_the_end() -> None:
    """The run's objects (items, parses, views: half a million for 5,000
    captions) live until this command ends; move them out of the cyclic
    garbage collector's sight. ``lint`` builds them with the collector off,
    so all are still in its youngest generation: the first collection after
    it (while the report is written) walked them all, and the interpreter's
    last one at exit again, 0.15-0.2 s of a 2.5 s run (bench/endtoend.py).
    Reference counting still frees what the report drops."""
    gc.freeze()


#: What discovery looks for, for the "nothing found" message.
_NOTHING_FOUND = (
    "no images or captions found in {paths} (images: .jpg .jpeg .png .webp .bmp; "
    "captions: {captions})"
)


def _nothing_found(result: Any, paths: list[Path], config: Config) -> None:
    """An empty or mistyped folder is a usage error (exit 2), not a clean run."""
    if result.files_found == 0:
        shown = ", ".join(str(p) for p in paths)
        captions = " ".join(config.caption_extension)
        raise UserError(_NOTHING_FOUND.format(paths=shown, captions=captions))


def _without_dataset_rules(
    config: Config, paths: list[Path]
) -> tuple[Config, str | None, RuleBook | None]:
    """Single files are judged without the dataset rules: a file is not a
    dataset of one (D001 "1 image: fewer than 15"). ``--whole-dataset`` judges
    them with their set instead. The rule book read to find them is returned
    for the run (None when it was not read)."""
    if not paths or not all(p.is_file() for p in paths):
        return config, None, None
    from lintcap.engine.spec import load_rulebook

    book = load_rulebook(config)
    # Grades (I008, I013) judge an image alone when there is no set to
    # compare it with: they still run on a single image.
    dataset_codes = [
        rule.code
        for rule in book.rules
        if rule.scope == "dataset" and rule.check.kind != "graded-images"
    ]
    narrowed = config.model_copy(update={"ignore": [*config.ignore, *dataset_codes]})
    note = (
        "Dataset rules did not run on single files; `--whole-dataset` judges them with their set."
    )
    return narrowed, note, book


def _append_job_summary(path: Path, result: Any) -> None:
    """Append to a regular file (GitHub's step summary is appended to)."""
    import io
    import stat

    from lintcap.report.job_summary import write

    text = io.StringIO()
    write(result, text)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                raise UserError(f"cannot write the job summary to {path}: not a regular file")
            os.write(descriptor, text.getvalue().encode("utf-8"))
        finally:
            os.close(descriptor)
    except OSError as exc:
        raise UserError(f"cannot write the job summary to {path}: {exc.strerror}") from None


def _adopt(
    result: Any, config: Config, paths: list[Path], baseline: Path | None, add: bool
) -> None:
    """``--write-baseline`` and ``--add-ignores``: record today's findings."""
    from lintcap.baseline import BaselineError
    from lintcap.baseline import write_baseline as write_file
    from lintcap.ignores import add_ignores
    from lintcap.report.output import OutputFileError
    from lintcap.report.text import plural

    try:
        if baseline is not None:
            count = write_file(baseline, result.diagnostics, result.items)
            click.echo(f"Wrote {plural(count, 'finding')} to the baseline {baseline}.", err=True)
            if config.baseline is None or config.baseline.resolve() != baseline.resolve():
                click.echo(
                    f'Add `baseline = "{baseline}"` to lintcap.toml (a path relative to its '
                    "folder) to hide them from now on.",
                    err=True,
                )
        if add:
            target = config.source
            if target is None:
                first = paths[0] if paths else Path.cwd()
                target = (first if first.is_dir() else first.parent) / "lintcap.toml"
            files, codes = add_ignores(target, result.diagnostics)
            click.echo(
                f"Added {plural(codes, 'code')} for {plural(files, 'file')} to per-file-ignores "
                f"in {target}.",
                err=True,
            )
    except (BaselineError, OutputFileError, OSError) as exc:
        raise UserError(str(exc)) from None


@cli.command(
    "fix",
    epilog="""\b
Examples:
  lintcap fix datasets/character              apply the safe fixes
  lintcap fix data --diff | git apply --check the fixes as a patch, nothing written
  lintcap fix data --unsafe-fixes --diff      review the unsafe fixes too""",
)
@_dataset_options
@click.option("--unsafe-fixes", is_flag=True, help="Also apply fixes marked unsafe.")
@click.option(
    "--force-write",
    is_flag=True,
    help="Also rewrite read-only and hard-linked captions (a hard link is split: the "
    "other names keep the old text).",
)
@click.option(
    "--diff",
    is_flag=True,
    help="Print a unified diff (for `git apply`) and write nothing; the summary goes to "
    "standard error.",
)
@_COLOR_OPTION
@click.option(
    "--whole-dataset",
    is_flag=True,
    help="Judge the whole dataset of each file given, but edit only the given files' "
    "captions: what the lintcap-fix pre-commit hook runs.",
)
@click.option(
    "--llm",
    "llm_spec",
    metavar="SPEC",
    help="Also rewrite what needs language with a local model: transformers:PATH (a model "
    "folder) or openai:URL (an OpenAI-compatible server; with --model). A rewrite is written "
    "only if re-linting verifies it.",
)
@click.option("--model", "llm_model", metavar="NAME", help="Model name for --llm openai:URL.")
@click.option(
    "--llm-timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Seconds per request to the server (default: settings llm.timeout).",
)
@click.option(
    "--llm-retries",
    type=click.IntRange(min=0),
    metavar="N",
    help="Proposals asked for again after a rejection (default: settings llm.retries).",
)
@click.option(
    "--llm-images",
    is_flag=True,
    help="Send each caption's image to an openai:URL server (a vision-language model); "
    "a transformers model whose config has a vision part always gets it.",
)
@click.option(
    "--dry-run", is_flag=True, help="Show the proposals and verdicts (or the diff); write nothing."
)
def fix_command(
    unsafe_fixes: bool,
    force_write: bool,
    diff: bool,
    color: str,
    whole_dataset: bool,
    llm_spec: str | None,
    llm_model: str | None,
    llm_timeout: float | None,
    llm_retries: int | None,
    llm_images: bool,
    dry_run: bool,
    **options: Any,
) -> None:
    """Fix what can be fixed in the captions at PATHS, atomically, in place.

    Exit 1 when findings at or above --fail-on remain, a file could not be
    written, or (with --diff) when there is something to change."""
    from lintcap.fix.run import fix, fix_failed, outcome_notes
    from lintcap.report.escape import field_safe
    from lintcap.report.fix_summary import changed_lines, skipped_lines
    from lintcap.report.text import TextOptions, plural, use_color
    from lintcap.report.text import write as write_text

    config = _config_from(options)
    if llm_spec is None and (llm_model or llm_timeout or llm_retries is not None or llm_images):
        raise click.UsageError("--model, --llm-timeout, --llm-retries and --llm-images need --llm")
    if llm_spec is not None and force_write:
        raise click.UsageError("--force-write is not available with --llm")
    if llm_spec is not None:
        from lintcap.fix.llm.command import fix_with_llm

        sys.exit(
            fix_with_llm(
                list(options["paths"]),
                config,
                spec=llm_spec,
                model=llm_model,
                timeout=llm_timeout,
                retries=llm_retries,
                unsafe=unsafe_fixes,
                dry_run=dry_run,
                diff=diff,
                out=sys.stdout,
                err=sys.stderr,
                send_images=llm_images,
            )
        )
    diff = diff or dry_run  # without a model, the proposals are the diff
    paths = list(options["paths"])
    if whole_dataset:
        from lintcap.changed import concerning, dataset_folders, relevant_paths

        given = relevant_paths(paths, config.caption_extension)
        if not given:
            sys.exit(EXIT_CLEAN)  # nothing of a dataset among the files
        result = fix(
            dataset_folders(given),
            config,
            unsafe=unsafe_fixes,
            write=not diff,
            only=given,
            force=force_write,
        )
        result.remaining.diagnostics = concerning(result.remaining.diagnostics, given)
    else:
        config, _, _ = _without_dataset_rules(config, paths)  # a file is not a dataset of one
        result = fix(paths, config, unsafe=unsafe_fixes, write=not diff, force=force_write)
    out, err = sys.stdout, sys.stderr
    # What was left alone and why: after the diff (on standard error) or the findings.
    notes = [
        *skipped_lines(result.remaining.diagnostics, unsafe_fixes),
        *outcome_notes(result.files, result.unsettled, result.rolled_back),
    ]
    if diff:
        for file_fix in result.files:
            out.write(file_fix.diff())
        count = len(result.files)
        err.write(f"{plural(result.fixes, 'fix', 'fixes')} would change {plural(count, 'file')}.\n")
        for line in notes:
            err.write(f"{field_safe(line)}\n")
        sys.exit(EXIT_FINDINGS if result.files else EXIT_CLEAN)
    write_text(result.remaining, out, TextOptions(color=use_color(color, out), footer=False))  # type: ignore[arg-type]
    for line in [*changed_lines(result.files, written=True), *notes]:
        out.write(f"{field_safe(line)}\n")
    failed = fix_failed(result.files, result.remaining, config)
    sys.exit(EXIT_FINDINGS if failed else EXIT_CLEAN)


class _GateCommand(click.Command):
    """Remembers how many arguments followed ``--``: click drops the marker,
    and a training command given without it would lose options such as
    ``--dry-run`` or ``--config`` to the gate."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["gate_after_dashes"] = len(args) - args.index("--") - 1 if "--" in args else 0
        return super().parse_args(ctx, args)


@cli.command("gate", cls=_GateCommand, context_settings={"ignore_unknown_options": True})
@click.option(
    "--trainer", type=click.Choice(["ai-toolkit", "kohya"]), required=True, help="Whose config."
)
@click.argument("trainer_config", type=click.Path(exists=True, path_type=Path))
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--args", "train_args", help="kohya training arguments, quoted as one string.")
@click.option(
    "--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--preset", help="Rule preset (default: from config).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these codes or prefixes.")
@click.option("--fail-on", type=click.Choice(_SEVERITIES), default=None)
@click.option("--no-gpu-check", is_flag=True, help="Do not check the GPU (T011).")
@click.option("--dry-run", is_flag=True, help="Print the verdict and the plan; run nothing.")
@click.option(
    "--explain",
    is_flag=True,
    help="Show every image with the exact caption the trainer builds, its buckets and passes.",
)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def gate_command(
    ctx: click.Context,
    trainer: str,
    trainer_config: Path,
    command: tuple[str, ...],
    train_args: str | None,
    config_path: Path | None,
    preset: str | None,
    ignore: tuple[str, ...],
    fail_on: str | None,
    no_gpu_check: bool,
    dry_run: bool,
    explain: bool,
    output_format: str,
) -> None:
    """Lint a training run (TRAINER_CONFIG and its datasets), then run COMMAND.

    \b
    lintcap gate --trainer ai-toolkit config.yaml -- python run.py config.yaml
    lintcap gate --trainer kohya dataset.toml -- accelerate launch flux_train_network.py ...

    COMMAND follows `--` and replaces lintcap (no shell) only when the verdict is pass."""
    from lintcap.config import find_config, load_config
    from lintcap.gate.run import gate
    from lintcap.gate.trainers import TrainerConfigError, split_args
    from lintcap.report.gate import print_gate, write_gate_json

    after_dashes = ctx.meta.get("gate_after_dashes", 0)
    if len(command) > after_dashes:
        raise UserError(
            f"put '--' before the training command ({' '.join(command[:2])} ...): "
            "lintcap gate [OPTIONS] TRAINER_CONFIG -- COMMAND..."
        )
    run_command = list(command)
    if run_command and not run_command[0].strip():
        raise UserError("the training command after '--' has an empty program name")
    found = config_path or find_config(trainer_config)
    config = _override(load_config(found), preset=preset, fail_on=fail_on, ignore=_codes(ignore))
    try:
        result = gate(
            trainer,  # type: ignore[arg-type]
            trainer_config,
            config,
            args=split_args(train_args),
            command=run_command,
            gpu_check=not no_gpu_check,
        )
    except TrainerConfigError as exc:
        raise UserError(str(exc)) from None
    if output_format == "json":
        write_gate_json(result, sys.stdout)
    else:
        print_gate(result, sys.stdout, plan_table=dry_run or explain, explain=explain)
    if result.verdict == "fail":
        sys.exit(EXIT_FINDINGS)
    if dry_run or not run_command:
        sys.exit(EXIT_CLEAN)
    sys.stdout.flush()
    try:
        os.execvp(run_command[0], run_command)
    except OSError as exc:
        raise UserError(f"cannot run {run_command[0]!r}: {exc.strerror or exc}") from None


@cli.group()
def rules() -> None:
    """List the rules and explain why each matters."""


@rules.command("list")
@click.option("--preset", help="Mark which rules this preset runs (default: from config).")
@click.option(
    "--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def rules_list(preset: str | None, config_path: Path | None) -> None:
    """Every rule: code, name, scope, severity, whether the preset runs it, its
    fix and the dataset subjects it applies to."""
    from rich.console import Console
    from rich.table import Table

    from lintcap.engine.select import select_rules
    from lintcap.engine.severity import apply_severity, validate_severity
    from lintcap.engine.spec import load_rulebook

    config = _load_config((), config_path, isolated=False)
    book = load_rulebook(config)
    preset = preset or config.preset
    validate_severity(book, config.severity)
    chosen = apply_severity(select_rules(book, preset, None, [], []), config.severity)
    enabled = {r.code: r for r in chosen}
    table = Table(title=f"lintcap rules (preset {preset})", title_justify="left")
    for column in ("code", "name", "scope", "severity", "on", "fix", "subjects", "message"):
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
            ", ".join(rule.subjects) if rule.subjects else "all",
            rule.message,
        )
    # The terminal's width (rich reads it, else COLUMNS, else 80); markup off,
    # so that a message's "[trigger]" is printed, not eaten as a style tag.
    Console(file=sys.stdout, markup=False, highlight=False, emoji=False).print(table)


@rules.command("explain")
@click.argument("code")
def rules_explain(code: str) -> None:
    """Print a rule's description and why it matters for training."""
    from lintcap.config import Config
    from lintcap.engine.spec import load_rulebook

    book = load_rulebook(Config())
    rule = book.rule(code.upper())
    if rule is None:
        raise UserError(f"no rule {code!r}; see `lintcap rules list`")
    out = sys.stdout
    out.write(f"{rule.code} {rule.name} ({rule.scope}, {rule.severity.value})\n\n")
    out.write(f"Message: {rule.message}\n")
    if rule.fix:
        out.write(f"Fix ({rule.fix.safety}): {rule.fix.description}\n")
    if rule.subjects:
        out.write(f"Applies to: {', '.join(rule.subjects)} sets (lintcap decides the subject)\n")
    out.write(f"\nWhy it matters:\n{' '.join(rule.why.split())}\n")


def main() -> None:
    """The console script. A reader that goes away (``lintcap check | head``)
    ends the run quietly, exit 1, as click does for its own output."""
    try:
        cli.main(prog_name="lintcap")
    except BrokenPipeError:
        _quiet_broken_pipe()
        sys.exit(EXIT_FINDINGS)
    except SystemExit as exc:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _quiet_broken_pipe()
            sys.exit(EXIT_FINDINGS)
        raise exc from None


def _quiet_broken_pipe() -> None:
    """Point standard output at /dev/null so that the interpreter's final
    flush does not report the broken pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
