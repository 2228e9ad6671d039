"""Limits of ``lintcap fix --llm``, read from ``settings: llm:`` in the rule files."""

from __future__ import annotations

from pydantic import BaseModel, Field

from lintcap.strict import STRICT


class LlmSettings(BaseModel):
    """Defaults of the LLM rewrites; ``--llm-retries`` and ``--llm-timeout`` win."""

    model_config = STRICT

    #: Further proposals asked for after a rejected one (with the reason fed back).
    retries: int = Field(default=2, ge=0)
    #: Seconds one request to an OpenAI-compatible server may take.
    timeout: float = Field(default=120.0, gt=0)
    #: Longest answer asked for, in model tokens (a caption is well under 300).
    max_new_tokens: int = Field(default=320, ge=1)
    temperature: float = Field(default=0.2, ge=0)
    #: Captions per generate() call of the transformers backend.
    batch_size: int = Field(default=4, ge=1)
