"""The prompt: everything the model needs to rewrite one caption, and nothing
it could mistake for the caption.

The model sees the caption and its parsed parts (so it knows which words are
the trigger and which are tags it must keep), the findings to resolve with
the rule's instruction, the subject's class and intrinsic traits, what the
image analysis saw, and the house style. It is asked for the caption only;
:func:`lintcap.fix.llm.verify.clean_output` still strips the usual wrapping.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from lintcap.fix.llm.backends import LlmRequest

SYSTEM = (
    "You edit captions of a LoRA image-training dataset. You change only what you are "
    "asked to change and keep every other word of meaning. You answer with the caption "
    "only: one line, no quotes, no label, no explanation."
)

TEMPLATE = """\
Rewrite this training caption so that it resolves the findings listed below.

Caption:
{caption}

Its parts:
- trigger: {trigger}
- medium phrase: {medium}
- sentences: {sentences}
- tags: {tags}

Findings to resolve:
{findings}

Subject: {subject}
What the image analysis saw: {image}

House style: the trigger first, exactly as written ({trigger}); then the medium phrase \
(such as "a photo of"); then one or more natural-language sentences that describe what is \
in the image; then short comma-separated tags (framing, angle, gaze, lighting).
Keep:
- every tag listed above, and everything the caption describes (clothing, setting, \
lighting, framing, angle, expression), unless a finding asks you to remove it;
- the caption under {limit}.
Do not:
- name the subject's intrinsic traits: the trigger carries them;
- add captioner phrases such as "The image shows" or "appears to be";
- describe anything the caption and the image analysis do not support.
{feedback}
Answer with the rewritten caption only, on one line."""

FEEDBACK = """\
Your previous answer was rejected:
{proposal}
Reason: {reason}
"""


class FindingToResolve(BaseModel):
    """A finding of a rule with an ``llm`` spec, and the rule's instruction."""

    code: str
    message: str
    instruction: str


class ImageNotes(BaseModel):
    """What the image analysis saw (None: not analysed or not found)."""

    framing: str | None = None
    angle: str | None = None
    expression: str | None = None
    gaze: str | None = None
    #: "grayscale", "sepia", ... when the image is monochrome.
    monochrome: str | None = None

    def describe(self) -> str:
        parts = [
            f"{name} {value}"
            for name, value in (
                ("framing", self.framing),
                ("angle", self.angle),
                ("expression", self.expression),
                ("gaze", self.gaze),
            )
            if value is not None
        ]
        parts.append(f"the image is {self.monochrome}" if self.monochrome else "in colour")
        return "; ".join(parts)


class PromptInput(BaseModel):
    """One caption's prompt, as data (the tests and --dry-run read it)."""

    caption: str
    trigger: str | None = None
    medium: str | None = None
    sentences: list[str] = []
    tags: list[str] = []
    findings: list[FindingToResolve]
    subject_class: str | None = None
    intrinsic: list[str] = []
    image: ImageNotes | None = None
    #: The length rule's limit, in its unit ("512 t5 tokens").
    limit: str = "512 t5 tokens"


def render_prompt(data: PromptInput, rejected: tuple[str, str] | None = None) -> str:
    """The user message; ``rejected`` is the last (proposal, reason), fed back."""
    subject = data.subject_class or "not declared"
    if data.intrinsic:
        subject += f"; intrinsic traits (never name them): {', '.join(data.intrinsic)}"
    feedback = ""
    if rejected is not None:
        feedback = "\n" + FEEDBACK.format(proposal=rejected[0], reason=rejected[1])
    return TEMPLATE.format(
        caption=data.caption,
        trigger=data.trigger or "(none configured)",
        medium=data.medium or "(none)",
        sentences=_listing(data.sentences),
        tags=", ".join(data.tags) if data.tags else "(none)",
        findings="\n".join(
            f"- {f.code}: {f.message}. To do: {f.instruction}." for f in data.findings
        ),
        subject=subject,
        image=data.image.describe() if data.image is not None else "not analysed",
        limit=data.limit,
        feedback=feedback,
    )


def build_request(
    data: PromptInput, image: Path | None, rejected: tuple[str, str] | None = None
) -> LlmRequest:
    return LlmRequest(system=SYSTEM, user=render_prompt(data, rejected), image=image)


def _listing(sentences: list[str]) -> str:
    if not sentences:
        return "(none)"
    return " | ".join(f'"{sentence}"' for sentence in sentences)
