"""A backend that answers from a script, for the tests and the benchmark:
known good and known bad rewrites, so that verification can be watched."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from lintcap.fix.llm.backends import LlmRequest

_CAPTION = re.compile(r"^Caption:\n(.*)$", re.MULTILINE)


def caption_of(request: LlmRequest) -> str:
    """The caption a prompt asks to rewrite."""
    found = _CAPTION.search(request.user)
    assert found is not None, "the prompt names no caption"
    return found.group(1)


class ScriptedBackend:
    """Caption (as sent) → answers, one per attempt; a caption without
    (more) answers gets itself back, which the verifier rejects as unchanged."""

    name = "scripted"

    def __init__(self, script: Mapping[str, Sequence[str]]) -> None:
        self.script = {caption: list(answers) for caption, answers in script.items()}
        self.requests: list[LlmRequest] = []

    def propose(self, requests: Sequence[LlmRequest]) -> list[str]:
        answers = []
        for request in requests:
            self.requests.append(request)
            caption = caption_of(request)
            queue = self.script.get(caption)
            answers.append(queue.pop(0) if queue else caption)
        return answers
