"""lintcap fix --llm: a rewrite is written only when re-linting verifies it.

The transformers backend runs for real on a tiny randomly initialised model
with a tokenizer built here (no hub); the acceptance path uses a scripted
backend; the OpenAI-compatible backend talks to a server on 127.0.0.1.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lintcap.config import load_config
from lintcap.fix.llm import backends
from lintcap.fix.llm.backends import LlmError, LlmRequest, OpenAIBackend, make_backend
from lintcap.fix.llm.command import write_summary
from lintcap.fix.llm.prompt import FindingToResolve, ImageNotes, PromptInput, render_prompt
from lintcap.fix.llm.run import llm_fix
from lintcap.fix.llm.verify import clean_output
from tests.conftest import MakeDataset, run_lintcap
from tests.scripted_llm import ScriptedBackend, caption_of

GOOD = (
    "ohwx, a photo of a woman wearing a red wool coat, standing on a city street at night. "
    "She is smiling. close-up, from side, looking at viewer, neon lighting"
)
BOILER = GOOD.replace("She is smiling.", "The image shows her smiling.")
TRAIT = GOOD.replace(
    "a woman wearing a red wool coat",
    "a woman with freckles wearing a red wool coat and a silver necklace",
)
TAGS_ONLY = "ohwx, 1girl, red coat, smiling, close-up, from side, neon lighting, city street"
TAGS_REWRITTEN = (
    "ohwx, a photo of a woman in a red coat, smiling on a city street. "
    "1girl, close-up, from side, neon lighting"
)
# Image rules off: these tests are about captions, and need no image analysis.
# C013/C014: the accepted rewrites are copies of GOOD, which is in the set too.
CONFIG = """\
trigger = "ohwx"
ignore = ["I", "W", "D", "A010", "C013", "C014"]
extend-rules = ["llm.yaml"]
[subject]
class = "woman"
intrinsic = ["freckles"]
"""
LLM_SETTINGS = """\
settings:
  llm: {retries: 2, max-new-tokens: 6, temperature: 0, batch-size: 2, timeout: 5}
"""


def _dataset(make_dataset: MakeDataset, captions: dict[str, str | None]) -> Path:
    root = make_dataset(captions, config=CONFIG)
    (root / "llm.yaml").write_text(LLM_SETTINGS, encoding="utf-8")
    return root


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.glob("*.txt"))}


# -- cleaning and the prompt ---------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        GOOD,
        f"  {GOOD}\n",
        f"```\n{GOOD}\n```",
        f"```text\n{GOOD}\n```",
        f'"{GOOD}"',
        f"Caption: {GOOD}",
        f"Rewritten caption: \u201c{GOOD}\u201d",
        f"Here is the rewritten caption:\n\n{GOOD}",
    ],
)
def test_model_output_is_cleaned_to_the_caption(raw: str) -> None:
    assert clean_output(raw) == GOOD


def test_prompt_carries_structure_findings_subject_image_and_style(
    make_dataset: MakeDataset,
) -> None:
    root = _dataset(make_dataset, {"trait": TRAIT})
    backend = ScriptedBackend({})
    llm_fix([root], load_config(root / "lintcap.toml"), backend, retries=0, write=False)
    (request,) = backend.requests
    prompt = request.user
    assert caption_of(request) == TRAIT
    for part in (
        "- trigger: ohwx",
        "- medium phrase: a photo of",
        '"She is smiling."',
        "- tags: close-up, from side, looking at viewer, neon lighting",
        "A002: 'freckles' is an intrinsic trait",
        "remove this trait",
        "Subject: woman; intrinsic traits (never name them): freckles",
        "What the image analysis saw: not analysed",
        "the caption under 512 t5 tokens",
        "Answer with the rewritten caption only",
    ):
        assert part in prompt, part
    assert request.image == root / "trait.jpg"  # a vision model would see it
    notes = ImageNotes(framing="waist-up", angle="front", expression="smiling", monochrome="sepia")
    data = PromptInput(
        caption=TRAIT,
        findings=[FindingToResolve(code="A002", message="m", instruction="do it")],
        image=notes,
    )
    again = render_prompt(data, rejected=("ohwx, x", "tag 'y' is gone"))
    assert "framing waist-up; angle front; expression smiling; the image is sepia" in again
    assert "Your previous answer was rejected:\nohwx, x\nReason: tag 'y' is gone" in again


# -- (b) acceptance and rejection, with a scripted backend ---------------------


def test_scripted_rewrites_accepted_only_when_verified(make_dataset: MakeDataset) -> None:
    root = _dataset(
        make_dataset, {"good": GOOD, "boiler": BOILER, "trait": TRAIT, "tags": TAGS_ONLY}
    )
    before = _snapshot(root)
    script = {
        BOILER: [
            GOOD + " very" * 600,  # too long for T5
            GOOD.replace(", from side", ""),  # a tag lost
            f"```\n{GOOD}\n```",  # good, in a fence
        ],
        TRAIT: [
            TRAIT.replace("She is smiling.", "She is smiling, freckles and all."),  # still there
            "A photo of ohwx " + GOOD.removeprefix("ohwx, a photo of "),  # trigger not first
            GOOD,  # trait gone, but so is the necklace (accessories)
        ],
        TAGS_ONLY: [
            TAGS_REWRITTEN + ", close-up",  # a duplicate tag: C009, a new finding
            f"Caption: {TAGS_REWRITTEN}",  # good: tags kept as tags or in the sentence
        ],
    }
    backend = ScriptedBackend(script)
    result = llm_fix([root], load_config(root / "lintcap.toml"), backend)
    by_name = {r.path.name: r for r in result.rewrites}
    assert sorted(by_name) == ["boiler.txt", "tags.txt", "trait.txt"]  # good.txt needs nothing
    assert (result.accepted, result.rejected) == (2, 1)
    assert result.reasons() == {
        "too-long": 1,
        "tag-lost": 1,
        "finding-remains": 1,
        "trigger-not-first": 1,
        "category-lost": 1,
        "new-finding": 1,
    }
    details = [a.verdict.detail for a in by_name["trait.txt"].attempts]
    assert details[0].startswith("A002 still: 'freckles'")
    assert details[1] == "the caption must begin with the trigger 'ohwx'"
    assert details[2] == "no longer describes: accessories"
    assert by_name["boiler.txt"].attempts[1].verdict.detail == "tag 'from side' is gone"
    assert by_name["tags.txt"].attempts[0].verdict.detail.startswith("new C009")
    # The reason goes back to the model with the next request.
    retry = [r for r in backend.requests if caption_of(r) == TRAIT][1]
    assert "Reason: A002 still" in retry.user
    # Only accepted rewrites are written; the rest keep their bytes and mtime.
    after = _snapshot(root)
    assert (root / "boiler.txt").read_text() == GOOD
    assert (root / "tags.txt").read_text() == TAGS_REWRITTEN
    for name in ("good.txt", "trait.txt"):
        assert after[name] == before[name]
    assert sorted(f.path.name for f in result.files if f.written) == ["boiler.txt", "tags.txt"]
    assert not any(d.code in {"C005", "C007"} for d in result.remaining.diagnostics)


def test_a_file_changed_during_the_run_is_not_written(make_dataset: MakeDataset) -> None:
    root = _dataset(make_dataset, {"boiler": BOILER})

    class EditsMeanwhile(ScriptedBackend):
        def propose(self, requests: Sequence[LlmRequest]) -> list[str]:
            (root / "boiler.txt").write_text(BOILER + " edited", encoding="utf-8")
            return super().propose(requests)

    result = llm_fix([root], load_config(root / "lintcap.toml"), EditsMeanwhile({BOILER: [GOOD]}))
    assert result.accepted == 1
    (file_fix,) = result.files
    assert not file_fix.written and file_fix.refused is not None
    assert (root / "boiler.txt").read_text() == BOILER + " edited"


def test_the_trigger_must_stay_first_in_its_case_even_with_c001_ignored(
    make_dataset: MakeDataset,
) -> None:
    root = make_dataset({"boiler": BOILER}, config=CONFIG.replace('"A010"', '"A010", "C001"'))
    (root / "llm.yaml").write_text(LLM_SETTINGS, encoding="utf-8")
    script = {BOILER: ["Ohwx" + GOOD.removeprefix("ohwx"), "a photo of ohwx. " + GOOD, GOOD]}
    result = llm_fix([root], load_config(root / "lintcap.toml"), ScriptedBackend(script))
    (rewrite,) = result.rewrites
    assert [a.verdict.reason for a in rewrite.attempts] == [
        "trigger-not-first",
        "trigger-not-first",
        None,
    ]
    assert (root / "boiler.txt").read_text() == GOOD


def test_a_rewrite_may_not_repeat_itself(make_dataset: MakeDataset) -> None:
    root = _dataset(make_dataset, {"boiler": BOILER})
    # C008 allows a phrase twice in any caption; a rewrite that adds one is a loop.
    twice = GOOD.replace("She is smiling.", "She is smiling on a city street at night.")
    script = {BOILER: [twice, f"{GOOD} {GOOD}", GOOD]}
    result = llm_fix([root], load_config(root / "lintcap.toml"), ScriptedBackend(script))
    (rewrite,) = result.rewrites
    assert [(a.verdict.reason, a.verdict.detail) for a in rewrite.attempts] == [
        ("repeats", "'on a city street' appears 2 times"),
        ("repeats", "the trigger appears 2 times"),
        (None, ""),
    ]


def test_summary_is_a_table_on_a_terminal(make_dataset: MakeDataset) -> None:
    root = _dataset(make_dataset, {"boiler": BOILER, "trait": TRAIT})
    script = {BOILER: [GOOD], TRAIT: [TRAIT.replace(", from side", "")]}  # freckles stay
    config = load_config(root / "lintcap.toml")
    result = llm_fix([root], config, ScriptedBackend(script), retries=0, write=False)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, log = Terminal(), io.StringIO()
    write_summary(result, "scripted", terminal)
    write_summary(result, "scripted", log)
    table = terminal.getvalue()
    assert "LLM rewrites (scripted)" in table and "\u2502" in table  # box drawing: a table
    assert "rejected proposals" in table and "finding-remains" in table and "A002 still" in table
    assert log.getvalue() == (
        "LLM rewrites (scripted): 2 captions sent, 1 accepted, 1 rejected; "
        "rejected proposals by reason: finding-remains 1.\n"
    )


def test_llm_options_need_llm(make_dataset: MakeDataset) -> None:
    root = _dataset(make_dataset, {"good": GOOD})
    done = run_lintcap("fix", root, "--model", "m")
    assert done.returncode == 2 and "need --llm" in done.stderr


# -- (a) the transformers backend, for real, with a tiny random model ----------


def _word_tokenizer(
    texts: list[str], extra_special: list[str] | None = None, **options: Any
) -> Any:
    """A word-level fast tokenizer trained here on ``texts`` (no hub)."""
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    special = ["<unk>", "<pad>", "<s>", "</s>", *(extra_special or [])]
    tokenizer.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=special))
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        **options,
    )


def _tiny_llama_config(tokenizer: Any) -> Any:
    """A 2-layer Llama with hidden size 32 over ``tokenizer``'s vocabulary."""
    import transformers

    return transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )


def _tiny_model(folder: Path) -> Path:
    """A 2-layer Llama with hidden size 32 and a word-level tokenizer trained
    here on a few captions, saved like any local model folder."""
    # The llm extra: CI installs it (with the CPU build of torch), so this runs there.
    import torch
    import transformers

    wrapped = _word_tokenizer([GOOD, BOILER, TRAIT, TAGS_ONLY, "a caption of the image"])
    wrapped.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}"
    )
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(_tiny_llama_config(wrapped)).save_pretrained(folder)
    wrapped.save_pretrained(folder)
    return folder


def test_transformers_backend_nonsense_is_rejected_and_nothing_written(
    make_dataset: MakeDataset, tmp_path: Path
) -> None:
    model = _tiny_model(tmp_path / "tiny-model")
    root = _dataset(make_dataset, {"boiler": BOILER, "trait": TRAIT, "tags": TAGS_ONLY})
    before = _snapshot(root)
    backend = make_backend(
        f"transformers:{model}",
        None,
        timeout=5,
        max_new_tokens=6,
        temperature=0,
        batch_size=2,
    )
    answers = backend.propose(
        [LlmRequest(system="s", user=f"Caption:\n{c}") for c in (BOILER, TRAIT, TAGS_ONLY)]
    )
    assert len(answers) == 3 and all(isinstance(a, str) for a in answers)
    # The real command: batched generation, chat template, three rounds.
    done = run_lintcap("fix", root, "--llm", f"transformers:{model}", "--llm-retries", "1")
    assert done.returncode == 0, done.stdout + done.stderr  # only warnings remain
    assert done.stderr == ""  # no tracebacks, no loading bars
    assert "3 captions sent, 0 accepted, 3 rejected" in done.stdout
    assert _snapshot(root) == before


def _tiny_vision_model(folder: Path) -> Path:
    """A tiny Llava (1-layer CLIP vision tower, 2-layer Llama) with a processor
    built here: the shape of a local vision-language model folder."""
    import torch
    import transformers

    wrapped = _word_tokenizer(
        [GOOD, BOILER, TRAIT], ["<image>"], extra_special_tokens={"image_token": "<image>"}
    )
    template = (
        "{% for m in messages %}{{ m['role'] }}: {% for part in m['content'] %}"
        "{% if part['type'] == 'image' %}<image> {% else %}{{ part['text'] }}{% endif %}"
        "{% endfor %}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
    )
    images = transformers.CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    )
    processor = transformers.LlavaProcessor(
        image_processor=images,
        tokenizer=wrapped,
        patch_size=16,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=template,
    )
    text = _tiny_llama_config(wrapped)
    vision = transformers.CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=32,
        patch_size=16,
        projection_dim=32,
    )
    config = transformers.LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=wrapped.get_vocab()["<image>"],
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    torch.manual_seed(0)
    transformers.LlavaForConditionalGeneration(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def test_a_vision_language_model_gets_the_image(
    make_dataset: MakeDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _tiny_vision_model(tmp_path / "tiny-vlm")
    root = _dataset(make_dataset, {"boiler": BOILER, "trait": TRAIT})
    before = _snapshot(root)
    opened: list[int] = []
    real_open = backends._open_images

    def open_images(batch: Sequence[LlmRequest]) -> list[object] | None:
        images = real_open(batch)
        opened.append(len(images or []))
        return images

    monkeypatch.setattr(backends, "_open_images", open_images)
    backend = make_backend(
        f"transformers:{model}", None, timeout=5, max_new_tokens=4, temperature=0, batch_size=2
    )
    result = llm_fix([root], load_config(root / "lintcap.toml"), backend, retries=0)
    # Both images went in (Llava refuses a prompt whose image tokens have no image).
    assert opened == [2]
    assert (result.accepted, result.rejected) == (0, 2)
    assert _snapshot(root) == before


def test_transformers_backend_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(LlmError, match="no such model folder"):
        make_backend(
            f"transformers:{tmp_path / 'missing'}",
            None,
            timeout=1,
            max_new_tokens=1,
            temperature=0,
            batch_size=1,
        )
    (tmp_path / "empty").mkdir()
    backend = make_backend(
        f"transformers:{tmp_path / 'empty'}",
        None,
        timeout=1,
        max_new_tokens=1,
        temperature=0,
        batch_size=1,
    )
    with pytest.raises(LlmError, match="cannot load the model"):
        backend.propose([LlmRequest(system="s", user="u")])


# -- (c) the OpenAI-compatible backend against a local server -----------------


class _Server:
    """A chat-completions server on 127.0.0.1 whose behaviour a test sets."""

    def __init__(self) -> None:
        self.mode = "good"
        self.answer = GOOD
        self.requests: list[dict[str, object]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                server.requests.append(json.loads(self.rfile.read(length)))
                if server.mode == "slow":
                    time.sleep(3)
                if server.mode == "error":
                    self._send(500, b'{"error": "model crashed"}')
                elif server.mode == "malformed":
                    self._send(200, b"{not json")
                else:
                    content = {"choices": [{"message": {"role": "assistant", "content": ""}}]}
                    content["choices"][0]["message"]["content"] = server.answer
                    self._send(200, json.dumps(content).encode())

            def _send(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (the timeout test)

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"


@pytest.fixture
def server() -> Iterator[_Server]:
    running = _Server()
    thread = threading.Thread(target=running.http.serve_forever, daemon=True)
    thread.start()
    yield running
    running.http.shutdown()
    running.http.server_close()


def test_openai_backend_good_answer_is_accepted_and_written(
    make_dataset: MakeDataset, server: _Server
) -> None:
    root = _dataset(make_dataset, {"boiler": BOILER, "good": GOOD})
    done = run_lintcap("fix", root, "--llm", f"openai:{server.url}", "--model", "tiny")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (root / "boiler.txt").read_text() == GOOD
    assert "boiler.txt: LLM rewrite accepted (1 proposal)" in done.stdout
    assert "1 caption sent, 1 accepted, 0 rejected" in done.stdout
    (request,) = server.requests
    assert request["model"] == "tiny"
    messages = request["messages"]
    assert isinstance(messages, list) and messages[0]["role"] == "system"
    assert BOILER in messages[1]["content"]


def test_openai_backend_sends_the_image_when_asked(
    make_dataset: MakeDataset, server: _Server
) -> None:
    root = _dataset(make_dataset, {"boiler": BOILER})
    args = ("fix", root, "--llm", f"openai:{server.url}", "--model", "vlm", "--dry-run")
    done = run_lintcap(*args, "--llm-images")
    assert done.returncode == 0, done.stdout + done.stderr
    (request,) = server.requests
    messages = request["messages"]
    assert isinstance(messages, list)
    image, text = messages[1]["content"]
    assert image["type"] == "image_url" and text["type"] == "text"
    encoded = image["image_url"]["url"].removeprefix("data:image/jpeg;base64,")
    assert base64.b64decode(encoded) == (root / "boiler.jpg").read_bytes()
    assert BOILER in text["text"]


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("slow", "no answer within 1 s (--llm-timeout)"),
        ("error", 'HTTP 500 Internal Server Error: {"error": "model crashed"}'),
        ("malformed", "the answer is not JSON"),
    ],
)
def test_openai_backend_failures_are_one_clear_line_and_write_nothing(
    make_dataset: MakeDataset, server: _Server, mode: str, message: str
) -> None:
    # C001 has a safe deterministic fix: it must not be written either.
    root = _dataset(make_dataset, {"boiler": BOILER, "other": GOOD.replace("ohwx, ", "")})
    before = _snapshot(root)
    server.mode = mode
    done = run_lintcap(
        "fix", root, "--llm", f"openai:{server.url}", "--model", "m", "--llm-timeout", "1"
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"Error: LLM server {server.url}/v1/chat/completions: ")
    assert message in line
    assert _snapshot(root) == before


def test_openai_backend_connection_refused_and_bad_spec() -> None:
    backend = OpenAIBackend(
        "http://127.0.0.1:9/v1", "m", timeout=2, max_tokens=5, temperature=0
    )  # the discard port: nothing listens there
    with pytest.raises(LlmError, match=r"127\.0\.0\.1:9/v1/chat/completions: cannot connect"):
        backend.propose([LlmRequest(system="s", user="u")])
    with pytest.raises(LlmError, match="needs --model"):
        make_backend(
            "openai:http://x", None, timeout=1, max_new_tokens=1, temperature=0, batch_size=1
        )
    with pytest.raises(LlmError, match="expected transformers:PATH"):
        make_backend("llama:foo", "m", timeout=1, max_new_tokens=1, temperature=0, batch_size=1)


def test_openai_answer_without_a_message_is_an_error(server: _Server) -> None:
    server.answer = GOOD
    backend = OpenAIBackend(server.url, "m", timeout=5, max_tokens=5, temperature=0)
    assert backend.propose([LlmRequest(system="s", user="u")]) == [GOOD]
    server.mode = "malformed"
    with pytest.raises(LlmError, match="not JSON"):
        backend.propose([LlmRequest(system="s", user="u")])


# -- (d) --dry-run ------------------------------------------------------------


def test_dry_run_shows_proposals_and_verdicts_and_writes_nothing(
    make_dataset: MakeDataset, server: _Server
) -> None:
    root = _dataset(make_dataset, {"boiler": BOILER, "trait": TRAIT})
    before = _snapshot(root)
    done = run_lintcap(
        "fix",
        root,
        "--llm",
        f"openai:{server.url}",
        "--model",
        "m",
        "--dry-run",
        "--llm-retries",
        "0",
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    out = done.stdout
    assert "boiler.txt: LLM rewrite accepted (1 proposal)" in out
    assert f"    proposal 1: {GOOD}\n      verdict: accepted" in out
    assert "trait.txt: LLM rewrite rejected (1 proposal): category-lost" in out
    assert "verdict: rejected (category-lost): no longer describes: accessories" in out
    assert "to resolve: C007 captioner boilerplate 'The image shows'" in out
    assert "Dry run: 1 file would change." in out
    assert "2 captions sent, 1 accepted, 1 rejected" in out
    assert _snapshot(root) == before
