"""``lintcap fix --llm``: rewrites by a local language model, accepted only
when the linter can verify them.

The package is split by job: :mod:`.settings` (limits from the rule files),
:mod:`.backends` (transformers and OpenAI-compatible servers), :mod:`.prompt`
(the prompt template), :mod:`.verify` (the verdict on one proposal),
:mod:`.run` (rounds of propose → verify → retry) and :mod:`.command` (the
command-line side: progress, output, exit code). Nothing here imports torch
or transformers until the transformers backend is used.
"""
