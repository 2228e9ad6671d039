"""Where proposals come from: a local transformers model or a local
OpenAI-compatible server.

A backend turns prompts into raw answers and knows nothing of captions or
rules; whatever it returns is only a proposal, judged by :mod:`.verify`. A
backend that cannot answer at all (server down, timeout, bad JSON, model
that will not load) raises :class:`LlmError` with one line that says what
and where, and the run stops before anything is written.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from lintcap.safefs import open_binary, read_regular

INSTALL_HINT = "pip install 'lintcap[llm]'"


class LlmError(Exception):
    """The model cannot be used or did not answer; the message is one line."""


class LlmRequest(BaseModel):
    """One prompt: a system message, a user message, and the image when the
    backend can see (vision-language models)."""

    system: str
    user: str
    image: Path | None = None


class Backend(Protocol):
    """Anything that answers prompts: one raw answer per request, in order."""

    name: str

    def propose(self, requests: Sequence[LlmRequest]) -> list[str]: ...


def make_backend(
    spec: str,
    model: str | None,
    *,
    timeout: float,
    max_new_tokens: int,
    temperature: float,
    batch_size: int,
    send_images: bool = False,
) -> Backend:
    """``transformers:PATH`` or ``openai:URL`` (with ``model``) → a backend.

    Checked before any work is done, so that a typo costs nothing.
    ``send_images`` concerns servers only: whether their model can see is
    not knowable from here, while a transformers model's config says so."""
    kind, _, target = spec.partition(":")
    if kind == "transformers" and target:
        return TransformersBackend(
            Path(target),
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            batch_size=batch_size,
        )
    if kind == "openai" and target:
        if not model:
            raise LlmError("--llm openai:URL needs --model NAME (the name the server knows)")
        return OpenAIBackend(
            target,
            model,
            timeout=timeout,
            max_tokens=max_new_tokens,
            temperature=temperature,
            send_images=send_images,
        )
    raise LlmError(
        f"--llm {spec!r}: expected transformers:PATH (a local model folder) "
        "or openai:URL (a local OpenAI-compatible server)"
    )


class OpenAIBackend:
    """``/v1/chat/completions`` of a local server (llama.cpp server, Ollama,
    vLLM, LM Studio), one request per prompt, with the standard library only.

    Images are sent as ``image_url`` data URLs only when ``send_images`` is
    set: a text-only server may reject the content-part form."""

    def __init__(
        self,
        url: str,
        model: str,
        *,
        timeout: float,
        max_tokens: int,
        temperature: float,
        send_images: bool = False,
    ) -> None:
        self.url = _endpoint(url)
        self.model = model
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.send_images = send_images
        self.name = f"openai:{url} ({model})"

    def propose(self, requests: Sequence[LlmRequest]) -> list[str]:
        return [self._complete(request) for request in requests]

    def _complete(self, request: LlmRequest) -> str:
        body = json.dumps(
            {
                "model": self.model,
                "messages": self._messages(request),
                "max_tokens": self.max_tokens,
                "temperature": self.temperature,
                "stream": False,
            }
        ).encode("utf-8")
        http = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        where = f"LLM server {self.url}"
        late = f"no answer within {self.timeout:g} s (--llm-timeout)"
        try:
            raw = _fetch(http, self.timeout)
        except AnswerTooLarge:
            raise LlmError(f"{where}: the answer exceeds {MAX_ANSWER_BYTES:,} bytes") from None
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            raise LlmError(f"{where}: HTTP {exc.code} {exc.reason}{detail}") from None
        except TimeoutError:
            raise LlmError(f"{where}: {late}") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise LlmError(f"{where}: {late}") from None
            raise LlmError(f"{where}: cannot connect: {_reason(exc.reason)}") from None
        except OSError as exc:
            raise LlmError(f"{where}: {_reason(exc)}") from None
        return _answer(raw, where)

    def _messages(self, request: LlmRequest) -> list[dict[str, Any]]:
        user: Any = request.user
        url = _data_url(request.image) if self.send_images and request.image else None
        if url is not None:
            user = [
                {"type": "image_url", "image_url": {"url": url}},
                {"type": "text", "text": request.user},
            ]
        return [{"role": "system", "content": request.system}, {"role": "user", "content": user}]


#: An answer is one caption in a JSON envelope: far below this. A server
#: that sends more (1.5 GB was tried) is cut off here.
MAX_ANSWER_BYTES = 4 * 1024 * 1024


class AnswerTooLarge(Exception):
    """The server's answer exceeded :data:`MAX_ANSWER_BYTES`."""


def _fetch(http: urllib.request.Request, timeout: float) -> bytes:
    """The answer's body within ``timeout`` seconds in all (the socket's
    timeout bounds each read only: a server that drips a byte at a time would
    never time out) and at most :data:`MAX_ANSWER_BYTES`. The request runs on
    a daemon thread that is abandoned at the deadline."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            with urllib.request.urlopen(http, timeout=timeout) as response:
                chunks: list[bytes] = []
                size = 0
                while chunk := response.read(65536):
                    size += len(chunk)
                    if size > MAX_ANSWER_BYTES:
                        raise AnswerTooLarge()
                    chunks.append(chunk)
                box["raw"] = b"".join(chunks)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True, name="lintcap-llm-request")
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError()
    if "error" in box:
        raise box["error"]
    return bytes(box["raw"])


def _endpoint(url: str) -> str:
    """Accept the server root, its ``/v1`` or the full endpoint."""
    url = url.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    if url.endswith("/v1"):
        return f"{url}/chat/completions"
    return f"{url}/v1/chat/completions"


def _answer(raw: bytes, where: str) -> str:
    """The message content of a chat completion, or a clear error."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LlmError(f"{where}: the answer is not JSON ({exc})") from None
    except RecursionError:
        raise LlmError(f"{where}: the answer is JSON nested too deeply") from None
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LlmError(
            f"{where}: the answer is JSON but not a chat completion (no choices[0].message.content)"
        ) from None
    if isinstance(content, list):  # content parts; only text parts count
        content = "".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    if not isinstance(content, str):
        raise LlmError(f"{where}: the message content is not text")
    try:
        content.encode("utf-8")
    except UnicodeEncodeError:
        raise LlmError(
            f"{where}: the message content is not valid Unicode (a lone surrogate)"
        ) from None
    return content


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read(300).decode("utf-8", errors="replace").strip()
    except OSError:
        return ""
    first = body.splitlines()[0] if body else ""
    return f": {first[:200]}" if first else ""


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason)


def _data_url(path: Path) -> str | None:
    """The image as a data URL; None when it cannot be read (the prompt then
    goes without it, as F001/F006 report the image itself)."""
    kind = mimetypes.guess_type(path.name)[0] or "image/jpeg"
    try:
        data = read_regular(path, MAX_ANSWER_BYTES * 8)
    except OSError:
        return None
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


class TransformersBackend:
    """A local model folder, loaded offline (``local_files_only``) on the GPU
    when there is one, else the CPU; prompts are generated in batches.

    A text model gets the tokenizer's chat template when it has one, else a
    plain prompt. A vision-language model (a config with a ``vision_config``,
    loaded with ``AutoProcessor`` and ``AutoModelForImageTextToText``) also
    gets the image. Loading waits for the first request, so that building
    the backend (and checking the command line) stays cheap."""

    def __init__(
        self, path: Path, *, max_new_tokens: int, temperature: float, batch_size: int
    ) -> None:
        if not path.is_dir():
            raise LlmError(f"--llm transformers:{path}: no such model folder")
        self.path = path
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.batch_size = batch_size
        self.name = f"transformers:{path}"
        self._loaded: tuple[Any, Any, Any, bool] | None = None  # torch, model, processor, vision

    def propose(self, requests: Sequence[LlmRequest]) -> list[str]:
        answers: list[str] = []
        for start in range(0, len(requests), self.batch_size):
            answers.extend(self._generate(requests[start : start + self.batch_size]))
        return answers

    def _load(self) -> tuple[Any, Any, Any, bool]:
        if self._loaded is not None:
            return self._loaded
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise LlmError(
                f"the transformers backend needs torch and transformers ({exc.name} is "
                f"missing): {INSTALL_HINT}"
            ) from None
        device = "cuda" if torch.cuda.is_available() else "cpu"
        transformers.logging.set_verbosity_error()  # our report, not its loading bars
        transformers.logging.disable_progress_bar()
        try:
            config = transformers.AutoConfig.from_pretrained(self.path, local_files_only=True)
            vision = getattr(config, "vision_config", None) is not None
            if vision:
                processor = transformers.AutoProcessor.from_pretrained(
                    self.path, local_files_only=True
                )
                model = transformers.AutoModelForImageTextToText.from_pretrained(
                    self.path, local_files_only=True
                )
                tokenizer = processor.tokenizer
            else:
                processor = tokenizer = transformers.AutoTokenizer.from_pretrained(
                    self.path, local_files_only=True
                )
                model = transformers.AutoModelForCausalLM.from_pretrained(
                    self.path, local_files_only=True
                )
        except Exception as exc:  # loaders raise anything from OSError to RuntimeError
            raise LlmError(f"{self.name}: cannot load the model: {_first_line(exc)}") from None
        tokenizer.padding_side = "left"  # decoder-only batches pad on the left
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model.to(device)  # type: ignore[arg-type]
        model.eval()
        self._loaded = (torch, model, processor, vision)
        return self._loaded

    def _generate(self, batch: Sequence[LlmRequest]) -> list[str]:
        torch, model, processor, vision = self._load()
        tokenizer = processor.tokenizer if vision else processor
        images = _open_images(batch) if vision else None
        prompts = [self._prompt(processor, tokenizer, r, vision, images is not None) for r in batch]
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": self.temperature}
            if self.temperature > 0
            else {"do_sample": False}
        )
        try:
            if images is not None:
                inputs = processor(text=prompts, images=images, return_tensors="pt", padding=True)
            elif vision:
                inputs = processor(text=prompts, return_tensors="pt", padding=True)
            else:
                inputs = tokenizer(
                    prompts, return_tensors="pt", padding=True, add_special_tokens=False
                )
            inputs = inputs.to(model.device)
            with torch.inference_mode():
                output = model.generate(
                    **inputs,
                    max_new_tokens=self.max_new_tokens,
                    pad_token_id=tokenizer.pad_token_id,
                    **sampling,
                )
            new_tokens = output[:, inputs["input_ids"].shape[1] :]
            answers = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        except Exception as exc:  # out of memory, a processor that wants other input, ...
            raise LlmError(f"{self.name}: generation failed: {_first_line(exc)}") from None
        return [str(text) for text in answers]

    @staticmethod
    def _prompt(
        processor: Any, tokenizer: Any, request: LlmRequest, vision: bool, with_image: bool
    ) -> str:
        """The chat template's rendering when there is one, else a plain prompt;
        a vision model's processor renders content parts, the image first."""
        if getattr(tokenizer, "chat_template", None) or getattr(processor, "chat_template", None):
            if vision:
                user: Any = [{"type": "text", "text": request.user}]
                if with_image:
                    user.insert(0, {"type": "image"})
                system: Any = [{"type": "text", "text": request.system}]
            else:
                user, system = request.user, request.system
            messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
            templater = processor if vision else tokenizer
            return str(
                templater.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            )
        image = f"{getattr(processor, 'image_token', '')}\n" if with_image else ""
        return f"{image}{request.system}\n\n{request.user}\n\nCaption:"


def _open_images(batch: Sequence[LlmRequest]) -> list[Any] | None:
    """Every request's image as RGB, or None when one has none or cannot be
    read (F006 says why): a batch is sent with its images or without any."""
    from PIL import Image

    images = []
    for request in batch:
        if request.image is None:
            return None
        try:
            with open_binary(request.image) as stream, Image.open(stream) as image:
                images.append(image.convert("RGB"))
        except (OSError, ValueError, Image.DecompressionBombError):
            return None
    return images


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
