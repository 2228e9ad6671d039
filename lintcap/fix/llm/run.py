"""Rounds of propose → verify → retry, then one write per changed caption.

The run starts from the captions as the deterministic fixer left them (in
memory), finds the findings whose rules carry an ``llm`` spec, and asks the
backend for a rewrite of each caption that has any, all captions of a round
in batches. The round's proposals are re-linted together, in one lint of the
whole dataset (the dataset rules need every caption), each judged by
:func:`lintcap.fix.llm.verify.verify`. A rejected caption is asked again,
with the reason, up to the retry bound; an accepted one joins the captions
that later rounds lint with. Only when every round is done is anything
written: each changed caption atomically, and only if its bytes are still
those that were read. A backend error stops the run before that, so it
writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel

from lintcap.analyse import ItemFacts
from lintcap.caption.parse import ParsedCaption
from lintcap.config import Config
from lintcap.dataset import display_path
from lintcap.engine import checks
from lintcap.engine.image_checks import case_matches
from lintcap.engine.run import LintResult, lint, load_rulebook, needs_for, render
from lintcap.engine.select import select_rules
from lintcap.engine.spec import (
    AgreementCheck,
    ForbidsCheck,
    LengthCheck,
    RepetitionCheck,
    Rule,
    RuleBook,
)
from lintcap.fix.llm.backends import Backend
from lintcap.fix.llm.prompt import FindingToResolve, ImageNotes, PromptInput, build_request
from lintcap.fix.llm.verify import Baseline, RejectReason, Verdict, clean_output, span_of, verify
from lintcap.fix.run import FileFix, FixResult, _read_captions
from lintcap.fix.write import WriteRefused, write_atomically
from lintcap.models import Diagnostic
from lintcap.variety import ItemView

#: Called as (advance, total) when proposals are answered; total may grow.
Progress = Callable[[int, int], None]


class Attempt(BaseModel):
    """One proposal for one caption and its verdict."""

    number: int
    raw: str
    proposal: str
    verdict: Verdict


class CaptionRewrite(BaseModel):
    """The LLM's work on one caption."""

    path: Path
    display: str
    #: The caption as handed to the model.
    before: str
    #: The findings it was asked to resolve, as "CODE message".
    findings: list[str]
    prompt: PromptInput
    attempts: list[Attempt] = []
    #: The accepted rewrite, if any.
    after: str | None = None

    @property
    def accepted(self) -> bool:
        return self.after is not None


class LlmFixResult(BaseModel):
    rewrites: list[CaptionRewrite]
    #: Every caption that changed (deterministic fixes and accepted rewrites).
    files: list[FileFix]
    remaining: LintResult
    unsettled: list[str] = []
    #: Captions with findings for the model that were not sent, and why.
    skipped: list[str] = []

    @property
    def accepted(self) -> int:
        return sum(1 for r in self.rewrites if r.accepted)

    @property
    def rejected(self) -> int:
        return len(self.rewrites) - self.accepted

    def reasons(self) -> Counter[RejectReason]:
        """Rejected proposals (every attempt) per reason."""
        return Counter(
            a.verdict.reason for r in self.rewrites for a in r.attempts if a.verdict.reason
        )


class _Job(BaseModel):
    rewrite: CaptionRewrite
    baseline: Baseline
    image: Path | None
    newline: str


def llm_fix(
    paths: Sequence[Path],
    config: Config,
    backend: Backend,
    *,
    start: FixResult | None = None,
    retries: int | None = None,
    write: bool = True,
    progress: Progress | None = None,
    book: RuleBook | None = None,
) -> LlmFixResult:
    """Rewrite the captions at ``paths`` whose findings need language.

    ``start`` is the deterministic fixer's result (run with ``write=False``):
    its texts are the model's starting point and are written with the
    accepted rewrites, so that one run writes each file once, or not at all."""
    book = book or load_rulebook(config)
    retries = book.settings.llm.retries if retries is None else retries
    rules = select_rules(book, config.preset, config.select, config.extend_select, config.ignore)
    llm_rules = {rule.code: rule for rule in rules if rule.llm is not None}
    originals = _read_captions(paths, config, needs_for(book.rules).max_caption_bytes)
    current = dict(originals)
    fixed = {f.path: f for f in start.files} if start else {}
    for path, file_fix in fixed.items():
        current[path] = file_fix.after.encode("utf-8")
    result = lint(paths, config, book, current)
    context = checks.CheckContext(
        trigger=result.trigger.word,
        trigger_configured=result.trigger.source == "configured",
        subject=config.subject,
    )
    lengths = _length_rules(book, rules)
    own = frozenset(r.code for r in rules if r.scope in ("caption", "file"))
    skipped: list[str] = []
    jobs = _jobs(result, originals, llm_rules, rules, book, config, lengths, skipped)
    pending = list(jobs)
    total = len(pending)
    for number in range(1, retries + 2):
        if not pending:
            break
        requests = [
            build_request(job.rewrite.prompt, job.image, _last_rejection(job)) for job in pending
        ]
        answers: list[str] = []
        step = max(1, book.settings.llm.batch_size)
        for at in range(0, len(requests), step):
            answers.extend(backend.propose(requests[at : at + step]))
            if progress is not None:
                progress(len(requests[at : at + step]), total)
        proposals = [clean_output(raw) for raw in answers]
        trial = dict(current)
        for job, proposal in zip(pending, proposals, strict=True):
            if proposal:
                trial[job.rewrite.path] = (proposal + job.newline).encode("utf-8")
        checked = lint(paths, config, book, trial)
        by_path = {f.item.caption_path: f for f in checked.items if f.item.caption_path}
        # A rewrite is judged on the caption itself, as `lintcap fix` judges its
        # edits: what it only reveals about the set (two captions now alike, a
        # dataset rule) is not a finding it introduced.
        findings = _by_file(d for d in checked.diagnostics if d.code in own)
        still: list[_Job] = []
        for job, raw, proposal in zip(pending, answers, proposals, strict=True):
            verdict = _judge(job, proposal, by_path, findings, context, lengths)
            job.rewrite.attempts.append(
                Attempt(number=number, raw=raw, proposal=proposal, verdict=verdict)
            )
            if verdict.accepted:
                job.rewrite.after = proposal
                current[job.rewrite.path] = trial[job.rewrite.path]
            else:
                still.append(job)
        pending = still
        if pending and number <= retries:
            total += len(pending)
    remaining = (
        lint(paths, config, book, current) if any(j.rewrite.accepted for j in jobs) else result
    )
    files = _files(originals, current, fixed, jobs, write)
    return LlmFixResult(
        rewrites=[job.rewrite for job in jobs],
        files=files,
        remaining=remaining,
        unsettled=start.unsettled if start else [],
        skipped=skipped,
    )


def _last_rejection(job: _Job) -> tuple[str, str] | None:
    if not job.rewrite.attempts:
        return None
    last = job.rewrite.attempts[-1]
    return (last.proposal or last.raw.strip() or "(nothing)"), last.verdict.detail


def _length_rules(book: RuleBook, rules: Sequence[Rule]) -> list[Rule]:
    """The selected ``length`` rules with a maximum; when none is selected,
    the rule files' own (a rewrite must fit the encoder all the same)."""
    selected = [r for r in rules if isinstance(r.check, LengthCheck) and r.check.max]
    if selected:
        return selected
    return [r for r in book.rules if isinstance(r.check, LengthCheck) and r.check.max]


def _jobs(
    result: LintResult,
    originals: dict[Path, bytes],
    llm_rules: dict[str, Rule],
    rules: Sequence[Rule],
    book: RuleBook,
    config: Config,
    lengths: Sequence[Rule],
    skipped: list[str] | None = None,
) -> list[_Job]:
    unprotected = frozenset(
        category
        for rule in rules
        if isinstance(rule.check, ForbidsCheck)
        for category in rule.check.categories
    )
    limit = _limit(lengths)
    loops = [r.check for r in rules if isinstance(r.check, RepetitionCheck)]
    loop_n = min((check.n for check in loops if check.unit == "ngram"), default=None)
    by_file = _by_file(result.diagnostics)
    jobs: list[_Job] = []
    seen: set[Path] = set()
    for index, facts in enumerate(result.items):
        path = facts.item.caption_path
        parsed = facts.parsed
        if path is None or path not in originals or parsed is None or facts.text is None:
            continue  # only sidecar captions that decode are rewritten
        if facts.item.metadata_line is not None:
            # A metadata.jsonl row: the deterministic fixes edit it in place;
            # a model's rewrite of one row is not attempted.
            wanted = [
                d
                for d in by_file.get(facts.caption_display or "", [])
                if d.line == facts.item.metadata_line and d.code in llm_rules
            ]
            if wanted and skipped is not None:
                codes = ", ".join(sorted({d.code for d in wanted}))
                skipped.append(
                    f"{facts.reference}: {codes} not sent to the model: fix --llm rewrites "
                    "sidecar captions only (set caption-source or edit the row)"
                )
            continue
        if path in seen:
            continue
        mine = by_file.get(facts.caption_display or "", [])
        requested = [d for d in mine if d.code in llm_rules]
        if not requested:
            continue
        droppable = [
            span
            for d in requested
            if (spec := llm_rules[d.code].llm) is not None and spec.may_drop
            if (span := span_of(parsed.text, d)) is not None
        ]
        prompt = PromptInput(
            caption=parsed.text.strip(),
            trigger=result.trigger.word or _leading(parsed),
            medium=parsed.slice(parsed.medium) if parsed.medium else None,
            sentences=[parsed.slice(s) for s in parsed.sentences],
            tags=[t.text for t in parsed.tags],
            findings=[
                FindingToResolve(
                    code=d.code,
                    message=d.message,
                    instruction=llm_rules[d.code].llm.instruction,  # type: ignore[union-attr]
                )
                for d in requested
            ],
            subject_class=config.subject.class_,
            intrinsic=config.subject.intrinsic,
            image=_image_notes(facts, result.views[index] if result.views else None, book),
            limit=limit,
        )
        rewrite = CaptionRewrite(
            path=path,
            display=facts.caption_display or str(path),
            before=parsed.text,
            findings=[f"{d.code} {d.message}" for d in requested],
            prompt=prompt,
        )
        baseline = Baseline(
            parsed=parsed,
            diagnostics=mine,
            requested=requested,
            droppable=droppable,
            unprotected=unprotected,
            loop_n=loop_n,
        )
        newline = "\n" if facts.text.endswith("\n") else ""
        seen.add(path)
        jobs.append(
            _Job(rewrite=rewrite, baseline=baseline, image=facts.item.image, newline=newline)
        )
    return jobs


def _leading(parsed: ParsedCaption) -> str | None:
    return parsed.slice(parsed.trigger) if parsed.trigger else None


def _by_file(diagnostics: Iterable[Diagnostic]) -> dict[str, list[Diagnostic]]:
    grouped: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        if diagnostic.path is not None:
            grouped.setdefault(diagnostic.path, []).append(diagnostic)
    return grouped


def _limit(lengths: Sequence[Rule]) -> str:
    for rule in lengths:
        assert isinstance(rule.check, LengthCheck)
        return f"{rule.check.max} {rule.check.unit.replace('-', ' ')}"
    return "512 t5 tokens"


def _image_notes(facts: ItemFacts, view: ItemView | None, book: RuleBook) -> ImageNotes | None:
    """What the image analysis saw, from the item's view (people facts) and
    the monochrome cases of the agreement rule (I007's)."""
    if facts.image_facts is None or view is None:
        return None
    measures = facts.image_facts.measures()
    monochrome = next(
        (
            case.label
            for rule in book.rules
            if isinstance(rule.check, AgreementCheck)
            for case in rule.check.monochrome
            if case_matches(case, measures)
        ),
        None,
    )
    return ImageNotes(
        framing=view.framing.image,
        angle=view.angle.image,
        expression=view.expression.image,
        gaze=view.gaze.image,
        monochrome=monochrome,
    )


def _judge(
    job: _Job,
    proposal: str,
    by_path: dict[Path, ItemFacts],
    findings: dict[str, list[Diagnostic]],
    context: checks.CheckContext,
    lengths: Sequence[Rule],
) -> Verdict:
    if not proposal:
        return Verdict.reject("empty", "the answer holds no caption")
    facts = by_path.get(job.rewrite.path)
    if facts is None or facts.parsed is None:
        problems = "; ".join(p.detail or p.kind for p in facts.problems) if facts else ""
        return Verdict.reject("new-finding", f"the caption cannot be read back: {problems}")
    after = findings.get(facts.caption_display or "", [])
    return verify(
        job.baseline, facts.parsed, after, context.trigger, _too_long(facts, context, lengths)
    )


def _too_long(
    facts: ItemFacts, context: checks.CheckContext, lengths: Sequence[Rule]
) -> str | None:
    assert facts.parsed is not None
    for rule in lengths:
        assert isinstance(rule.check, LengthCheck)
        limit_only = rule.check.model_copy(update={"min": None})
        for finding in checks.length(limit_only, facts.parsed, context):
            return f"{rule.code} " + render(rule.message, dict(finding.values))
    return None


def _files(
    originals: dict[Path, bytes],
    current: dict[Path, bytes],
    fixed: dict[Path, FileFix],
    jobs: Sequence[_Job],
    write: bool,
) -> list[FileFix]:
    accepted = {
        job.rewrite.path: len(job.baseline.requested) for job in jobs if job.rewrite.accepted
    }
    files = []
    for path in sorted(p for p in current if current[p] != originals[p]):
        data = current[path]
        base = fixed.get(path)
        file_fix = FileFix(
            path=path,
            display=base.display if base else display_path(path),
            before=originals[path].decode("utf-8", errors="replace").lstrip("\ufeff"),
            after=data.decode("utf-8"),
            fixes=(base.fixes if base else 0) + accepted.get(path, 0),
        )
        if write:
            try:
                write_atomically(path, data, expected=originals[path])
                file_fix.written = True
            except WriteRefused as exc:
                file_fix.refused = str(exc)
        files.append(file_fix)
    return files
