"""Discovery pairs images and captions the way ai-toolkit and kohya do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lintcap.dataset import discover
from tests.conftest import photo


def save(path: Path, caption: str | None = "ohwx, a photo of a man", ext: str = ".txt") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    photo().save(path)
    if caption is not None:
        path.with_suffix(ext).write_text(caption)


def kinds(dataset) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(p.kind, Path(p.path).name) for p in dataset.problems]


def test_sidecars_any_case_and_recursive(tmp_path: Path) -> None:
    save(tmp_path / "a.jpg")
    save(tmp_path / "B.JPEG")
    save(tmp_path / "sub" / "c.PNG")
    save(tmp_path / "sub" / "deeper" / "d.webp")
    save(tmp_path / "e.bmp")
    dataset = discover([tmp_path], [".txt"])
    names = sorted(item.image.name for item in dataset.items if item.image)
    assert names == ["B.JPEG", "a.jpg", "c.PNG", "d.webp", "e.bmp"]
    assert all(item.caption_path is not None for item in dataset.items)
    # kohya reads .bmp, ai-toolkit skips it: paired, and an F007 warning.
    assert kinds(dataset) == [("unsupported-format", "e.bmp")]


def test_hidden_files_and_folders_are_skipped(tmp_path: Path) -> None:
    save(tmp_path / "a.jpg")
    save(tmp_path / ".hidden.jpg")
    save(tmp_path / ".git" / "b.jpg")
    save(tmp_path / ".lintcap_cache" / "c.jpg")
    dataset = discover([tmp_path], [".txt"])
    assert [item.image.name for item in dataset.items if item.image] == ["a.jpg"]


def test_caption_extension_is_configurable(tmp_path: Path) -> None:
    save(tmp_path / "a.jpg", ext=".caption")
    save(tmp_path / "b.jpg", ext=".txt")
    dataset = discover([tmp_path], [".caption"])
    by_image = {item.image.name: item.caption_path for item in dataset.items if item.image}
    assert by_image["a.jpg"] is not None and by_image["a.jpg"].suffix == ".caption"
    assert by_image["b.jpg"] is None  # its .txt is not a caption under this config


def test_orphans_both_ways(tmp_path: Path) -> None:
    save(tmp_path / "a.jpg", caption=None)
    (tmp_path / "b.txt").write_text("ohwx, a photo of a man")
    dataset = discover([tmp_path], [".txt"])
    assert [i.caption_path for i in dataset.items] == [None]
    assert kinds(dataset) == [("orphan-caption", "b.txt")]


def test_two_images_one_caption(tmp_path: Path) -> None:
    save(tmp_path / "a.jpg")
    photo().save(tmp_path / "a.png")
    dataset = discover([tmp_path], [".txt"])
    assert len(dataset.items) == 2
    assert kinds(dataset) == [("shared-caption", "a.txt")]


def test_kohya_repeat_folders(tmp_path: Path) -> None:
    save(tmp_path / "img" / "10_ohwx woman" / "a.jpg")
    save(tmp_path / "img" / "3_style" / "sub" / "b.jpg")
    save(tmp_path / "img" / "plain" / "c.jpg")
    items = {i.image.name: i for i in discover([tmp_path], [".txt"]).items if i.image}
    assert (items["a.jpg"].repeats, items["a.jpg"].class_tokens) == (10, "ohwx woman")
    assert (items["b.jpg"].repeats, items["b.jpg"].class_tokens) == (3, "style")
    assert items["c.jpg"].repeats is None


def test_kohya_folder_given_directly(tmp_path: Path) -> None:
    save(tmp_path / "5_ohwx" / "a.jpg")
    [item] = discover([tmp_path / "5_ohwx"], [".txt"]).items
    assert item.repeats == 5 and item.class_tokens == "ohwx"


def test_metadata_jsonl(tmp_path: Path) -> None:
    save(tmp_path / "a.jpg", caption=None)
    save(tmp_path / "sub" / "b.jpg", caption=None)
    save(tmp_path / "c.jpg", caption="sidecar caption for an unlisted image")
    lines = [
        json.dumps({"file_name": "a.jpg", "text": "ohwx, a photo of a man"}),
        json.dumps({"file_name": "sub/b.jpg", "caption": "ohwx, a photo of a dog"}),
        json.dumps({"file_name": "../escape.jpg", "text": "x"}),
        json.dumps({"file_name": "missing.jpg", "text": "x"}),
        "{not json",
        json.dumps({"file_name": "a.jpg"}),
    ]
    (tmp_path / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    dataset = discover([tmp_path], [".txt"])
    items = {i.image.name: i for i in dataset.items if i.image}
    assert items["a.jpg"].metadata_text == "ohwx, a photo of a man"
    assert items["a.jpg"].metadata_line == 1
    assert items["b.jpg"].metadata_text == "ohwx, a photo of a dog"
    assert items["c.jpg"].caption_path is not None and items["c.jpg"].metadata_text is None
    # Rows for a and b, a sidecar for c: the two sources cover different images.
    [mixed] = [p for p in dataset.problems if p.kind == "caption-sources-differ"]
    assert "2 row(s) have no sidecar" in mixed.detail and "1 sidecar(s) have no row" in mixed.detail
    problems = sorted((p.line, p.kind) for p in dataset.problems if p is not mixed)
    assert problems == [
        (3, "outside-root"),
        (4, "orphan-caption"),
        (5, "bad-metadata"),
        (6, "bad-metadata"),
    ]


def test_symlink_inside_is_followed_outside_is_not(tmp_path: Path) -> None:
    root = tmp_path / "data"
    save(root / "a.jpg")
    (root / "link.jpg").symlink_to(root / "a.jpg")
    (root / "link.txt").write_text("ohwx, a photo")
    save(tmp_path / "elsewhere" / "x.jpg")
    (root / "out.jpg").symlink_to(tmp_path / "elsewhere" / "x.jpg")
    (root / "outdir").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (root / "broken.jpg").symlink_to(root / "nothing.jpg")
    dataset = discover([root], [".txt"])
    assert sorted(i.image.name for i in dataset.items if i.image) == ["a.jpg", "link.jpg"]
    assert sorted(kinds(dataset)) == [
        ("outside-root", "out.jpg"),
        ("outside-root", "outdir"),
        ("unreadable", "broken.jpg"),
    ]


def test_single_files_can_be_given(tmp_path: Path) -> None:
    save(tmp_path / "a.jpg")
    save(tmp_path / "b.jpg")
    for given in ("a.jpg", "a.txt"):
        dataset = discover([tmp_path / given], [".txt"])
        [item] = dataset.items
        assert item.image is not None and item.image.name == "a.jpg"
        assert item.caption_path is not None and item.caption_path.name == "a.txt"


def test_single_image_finds_its_metadata_caption(tmp_path: Path) -> None:
    save(tmp_path / "a.jpg", caption=None)
    save(tmp_path / "b.jpg", caption=None)
    lines = [json.dumps({"file_name": n, "text": f"caption of {n}"}) for n in ("a.jpg", "b.jpg")]
    (tmp_path / "metadata.jsonl").write_text("\n".join(lines))
    [item] = discover([tmp_path / "a.jpg"], [".txt"]).items
    assert item.metadata_text == "caption of a.jpg"
    assert len(discover([tmp_path / "metadata.jsonl"], [".txt"]).items) == 2


def test_entry_paths_are_the_parsed_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Discovery makes each file's Path from its folder's Path and its name
    (pathlib's shortcut for a folder's entries, or the join where a Python
    has none): the same Path, string and parts as parsing the joined string,
    for odd names too, in nested, root and relative-looking folders."""
    import os

    from lintcap import dataset as module

    names = ["a.jpg", "b c.txt", "..x.txt", "x..txt", "ü日本.png", "a\\b.txt", " .txt", "-", "~"]
    folders = [str(tmp_path), str(tmp_path / "sub" / "deeper"), "/", "/tmp"]
    for child in (module._CHILD, None):
        monkeypatch.setattr(module, "_CHILD", child)
        make = module._PathMaker()
        for folder in folders:
            for name in names:
                joined = os.path.join(folder, name)
                made = make(joined)
                assert made == Path(joined)
                assert str(made) == str(Path(joined)) == joined
                assert made.parts == Path(joined).parts
                assert made.name == name and made.parent == Path(folder)
    save(tmp_path / "sub" / "q r.jpg")
    (item,) = discover([tmp_path], [".txt"]).items
    assert item.image == tmp_path / "sub" / "q r.jpg"
    assert item.caption_path == tmp_path / "sub" / "q r.txt"
