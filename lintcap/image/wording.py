"""What the unsure lines read say: added text told from scene text by content.

Geometry (:mod:`lintcap.image.text`) leaves lines open:

- lines called added on shape alone (a see-through patch, a margin line, a
  steep one) that may not be text at all: a keyboard's keys, teeth, a
  pattern. Read by :mod:`lintcap.image.reading`, a line with fewer than
  ``read-min-characters`` letters or digits, or read with less than
  ``read-min-confidence``, is not text: it goes back to scene. A corner mark
  (a signature, a logo's name) reads poorly and is kept while it reads as
  letters at all.
- a geometric tiling: three of its lines are read (``read-tile-lines``);
  three different words are lettering (road signs), judged again without the
  tiling. A corner line that reads as a piece of the tiling's word, or
  stands at a tiling's height and angle, is a copy cut by the picture's
  edge; one whose words the scene shows again (a backdrop's name) is the
  scene's, and so are the corner lines stacked on it.
- lines called scene text that may be a mark: a centred stock watermark, the
  few copies of a tiling the detector found. Their words decide:

  ``wording``
      the wording of marks and credits: a copyright sign or ``(c)``, a web
      address, an ``@handle``, "photo by", a stock agency's name, "preview"
      or "sample"; the lists and patterns are ``read-cues`` in
      ``rules/settings.yaml``, matched with a few reading errors allowed;
      a level line read unsurely may be two lines in one box (a mark laid
      across a sign's line): its halves are read apart
      (:mod:`lintcap.image.halves`);
  ``tiled``
      one word read on several lines of one height and angle (a tiling the
      detector saw only in part; turned lines at a looser height ratio);
  ``diagonal``
      a turned line too short for the diagonal shape that reads as a word
      at 20-45 degrees (a piece of a faint diagonal mark), whatever it says.

At most ``read-max-lines`` lines are read per image (a line costs about
0.055 ms per pixel of its width at 48 px high, 11 ms for 200 px): first the
tiling's sample, then the added lines to check, then scene lines of the
height and angle of an added one, then the longest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field, field_validator

from lintcap.engine import patterns as user_patterns
from lintcap.grouping import DisjointSets
from lintcap.strict import STRICT

if TYPE_CHECKING:
    from lintcap.image.text import TextBox, TextSettings

RGB = NDArray[np.uint8]


class ReadCues(BaseModel):
    """The wording of watermarks and credits (``text: read-cues:``).

    Words are compared as whole words of the line read (lower case, letters
    and digits): ordinary lettering is full of words a letter away from a
    stock library's name (IN STOCK, PIXELS, SPLASH, SUPERSTORE), so a part
    of a name counts only where it is long (two thirds of it on a line cut by
    the picture's edge, three quarters elsewhere), and a reading error only
    in long names."""

    model_config = STRICT

    #: Names of stock libraries and agencies, and phrases of marks (several
    #: words: "photo by", "do not copy"), found anywhere on the line as whole
    #: words (spaces between a name's words may be read or not), a reading
    #: error allowed per ``fuzzy-letters`` letters in names of
    #: ``fuzzy-min-letters`` or more.
    words: list[str] = []
    #: Single words a stock site or a proof stamps on a picture ("preview",
    #: "sample"): ordinary words, so a cue only when they are all the line
    #: says ("SAMPLE", not "FREE SAMPLE"), read without error.
    stamps: list[str] = []
    #: Words of a credit that are ordinary words too ("photography"): a cue
    #: only in a credit's shape on a line at the picture's edge or corner, after
    #: a name ("Jane Roe Photography") or before "by" ("photography by ...").
    credit_words: list[str] = []
    #: Regular expressions (case-insensitive) on the text as read: a web
    #: address, an @handle, a copyright sign.
    patterns: list[str] = []
    #: Words shorter than this are matched exactly (a short word with an
    #: error allowed matches too much: PIXELS, pexels).
    fuzzy_min_letters: int = Field(default=7, ge=1)
    fuzzy_letters: int = Field(default=6, ge=1)
    #: A line within this share of the picture's short side of its edge may
    #: be a mark cut by it: its first or last word counts when it is a part,
    #: ``partial-min-share`` of the name or more (and ``fuzzy-min-letters``
    #: letters at least), of a name in ``words``.
    edge_touch: float = Field(default=0.02, ge=0.0, le=0.5)
    partial_min_share: float = Field(default=0.66, gt=0.0, le=1.0)
    #: Away from the edge a mark is cut where it crosses the scene (a
    #: player's legs, a bright patch the detector loses it in): a line's
    #: first or last word counts there too when it is a part of a name this
    #: share of it or more (1: off). A larger share than at the edge: the
    #: first two thirds of a name can be a word of its own (SHUTTERS of
    #: Shutterstock, DREAMS of Dreamstime), three quarters of a long name
    #: rarely is.
    inner_partial_min_share: float = Field(default=0.75, gt=0.0, le=1.0)
    #: ...and of this many letters at least (COLOURS of Colourbox is a word),
    #: its first and last this many letters standing in the name as read
    #: (MASTERFUL is not a part of masterfile read with one error: "ul").
    inner_partial_min_letters: int = Field(default=8, ge=1)
    inner_partial_exact_ends: int = Field(default=2, ge=0)
    #: Away from the edge, a name read with errors reads its first and last
    #: this many letters right (PHOTOCAST is a word, not photocase misread;
    #: a misread letter inside a name is the common error: 'dreamstine').
    fuzzy_exact_ends: int = Field(default=1, ge=0)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        # Checked at load (a one-line settings error), not on the first image
        # read (an F006 on every image); searched by `regex` with a time budget.
        for pattern in patterns:
            user_patterns.validate(pattern)
        return patterns


def clean(text: str) -> str:
    """Lower case, letters and digits only: how words are compared."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def near_in(needle: str, haystack: str) -> int:
    """The fewest edits that make ``needle`` a substring of ``haystack``
    (approximate substring matching: the first row of the edit table is 0,
    so the match may start anywhere)."""
    if not needle:
        return 0
    previous = list(range(len(needle) + 1))
    best = len(needle)
    for ch in haystack:
        current = [0]
        for i, want in enumerate(needle, start=1):
            current.append(min(previous[i] + 1, current[i - 1] + 1, previous[i - 1] + (want != ch)))
        best = min(best, current[-1])
        previous = current
    return best


def levenshtein(a: str, b: str) -> int:
    """The fewest edits that turn ``a`` into ``b`` (whole words: both ends
    fixed, so a length difference costs an edit per letter)."""
    previous = list(range(len(b) + 1))
    for i, ch in enumerate(a, start=1):
        current = [i]
        for j, want in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (want != ch)))
        previous = current
    return previous[-1]


def tokens(text: str) -> list[str]:
    """The words of a line read: lower case runs of letters and digits."""
    return re.findall(r"[^\W_]+", text.lower())


def cue_in(text: str, cues: ReadCues, at_edge: bool = False, cut: bool = False) -> str | None:
    """The cue the read ``text`` matches, or None: a pattern, a name or
    phrase of ``words`` as whole words, a stamp that is the whole line, a
    credit word in a credit's shape when the line is ``at_edge`` (not in the
    centre), or a part of a name as its first or last word (when the line is
    ``cut`` by the picture's edge, ``partial-min-share`` of the name; elsewhere
    ``inner-partial-min-share``)."""
    for pattern in cues.patterns:
        found = _search(pattern, text)
        if found is not None:
            return found
    read = tokens(text)
    if not read:
        return None
    for word in cues.words:
        if _name_in(tokens(word), read, cues, cut):
            return word
    for word in cues.stamps:
        if "".join(tokens(word)) == "".join(read):
            return word
    if at_edge:
        for word in cues.credit_words:
            want = "".join(tokens(word))
            for i, token in enumerate(read):
                if token == want and (
                    (i > 0 and i == len(read) - 1) or read[i + 1 : i + 2] == ["by"]
                ):
                    return word
    return None


def _name_in(name: list[str], read: list[str], cues: ReadCues, cut: bool) -> bool:
    """Whether the words ``name`` stand in ``read``: some consecutive words
    of it (as many as the name has, one more where a space was read inside
    it, or fewer where spaces went unread) read as the name, a reading error
    per ``fuzzy-letters`` letters in long ones; or its first or last word a
    long part of it (a larger part away from the picture's edge: ``cut``),
    when the name is one word (a part of a phrase is a word: COURTESY,
    PICTURE)."""
    want = "".join(name)
    if not want:
        return False
    errors = len(want) // cues.fuzzy_letters if len(want) >= cues.fuzzy_min_letters else 0
    for size in range(1, len(name) + 2):
        for start in range(len(read) - size + 1):
            seen = "".join(read[start : start + size])
            if (
                abs(len(seen) - len(want)) <= errors
                and levenshtein(seen, want) <= errors
                and (cut or seen == want or _ends_read(seen, want, cues.fuzzy_exact_ends))
            ):
                return True
    if len(name) > 1:
        return False
    share = cues.partial_min_share if cut else cues.inner_partial_min_share
    least = (
        cues.fuzzy_min_letters
        if cut
        else max(cues.fuzzy_min_letters, cues.inner_partial_min_letters)
    )
    for part in {read[0], read[-1]}:
        if (
            least <= len(part) < len(want)
            and len(part) >= share * len(want)
            and near_in(part, want) <= len(part) // cues.fuzzy_letters
            and (cut or _ends_in(part, want, cues.inner_partial_exact_ends))
        ):
            return True
    return False


def _ends_read(seen: str, want: str, letters: int) -> bool:
    """Whether ``seen`` begins and ends with ``want``'s first and last ``letters``."""
    if letters <= 0:
        return True
    return seen[:letters] == want[:letters] and seen[-letters:] == want[-letters:]


def _ends_in(part: str, want: str, letters: int) -> bool:
    """Whether ``part``'s first and last ``letters`` stand in ``want``."""
    if letters <= 0:
        return True
    return part[:letters] in want and part[-letters:] in want


def touches_edge(box: TextBox, width: int, height: int, share: float) -> bool:
    """Whether the line's box comes within ``share`` of the short side of
    the picture's edge (a mark there may be cut by it)."""
    margin = share * min(width, height)
    return (
        box.x <= margin
        or box.y <= margin
        or box.x + box.w >= width - margin
        or box.y + box.h >= height - margin
    )


def _search(pattern: str, text: str) -> str | None:
    """The first match of a ``read-cues`` pattern (user input, through
    ``extend-rules``) in a line read, the search bounded like the rule files'
    patterns: one that runs over the budget stops the run with one line
    (:class:`~lintcap.engine.patterns.PatternTimeout`, exit 2) rather than
    hanging a worker or failing every image."""
    try:
        found = user_patterns.compiled(pattern, True).search(text, timeout=user_patterns.TIMEOUT_S)
    except TimeoutError:
        raise user_patterns.timeout_error(
            pattern,
            "read-cues regex",
            " (image-analysis: text: read-cues: patterns)",
            "one line read",
        ) from None
    return None if found is None else str(found.group(0))


def readable(text: str, confidence: float, min_confidence: float, min_characters: int) -> bool:
    """Whether a line read as ``text`` is text at all."""
    return confidence >= min_confidence and len(clean(text)) >= min_characters


def same_word_groups(
    reads: Sequence[tuple[str, float, float]],
    min_letters: int,
    max_height_ratio: float,
    max_angle: float,
    letters_per_error: int,
    *,
    same_short_words: bool = False,
) -> list[list[int]]:
    """Indexes of lines that read one word at one height and angle: (text,
    height, angle) per line. One word: of ``min_letters`` or more, one read
    within the other with an error per ``letters_per_error`` letters; with
    ``same_short_words``, shorter words read exactly the same too (asking
    whether a tiling's lines are one word: initials tiled over a picture are
    one short word). Elsewhere two signs reading "10" or "OK" are not a
    mark. Groups of one are left out."""
    words = [clean(text) for text, _, _ in reads]
    sets = DisjointSets(len(reads))

    for i in range(len(reads)):
        for j in range(i + 1, len(reads)):
            ratio = reads[i][1] / max(1.0, reads[j][1])
            if not 1 / max_height_ratio <= ratio <= max_height_ratio:
                continue
            if abs(reads[i][2] - reads[j][2]) > max_angle:
                continue
            if one_word(words[i], words[j], min_letters, letters_per_error, same_short_words):
                sets.join(i, j)
    return [group for group in sets.groups() if len(group) > 1]


def one_word(
    first: str, second: str, min_letters: int, letters_per_error: int, same_short: bool = False
) -> bool:
    """Whether two cleaned reads are one word (see :func:`same_word_groups`):
    the shorter, of ``min_letters`` or more, within the other with an error
    per ``letters_per_error`` letters; with ``same_short``, short words the
    same."""
    a, b = sorted((first, second), key=len)
    if not a or (len(a) < min_letters and not (same_short and a == b)):
        return False
    return near_in(a, b) <= len(a) // letters_per_error


def read_unsure(
    rgb: RGB, gray: NDArray[np.uint8], boxes: list[TextBox], settings: TextSettings
) -> int:
    """Read the unsure lines of one image and settle them by what they say
    (see the module); returns how many lines were read."""
    from lintcap.image import reading
    from lintcap.image.text import READ_MAX_CHARACTERS, _length, alike, classify, stacked

    budget = settings.read_max_lines
    if budget <= 0 or not boxes or not reading.available():
        return 0
    # Lines read before (turned pieces read whole, lintcap.image.pieces) are
    # text already, and do not count against the budget.
    read: dict[int, tuple[str, float]] = {id(b): (b.read, 1.0) for b in boxes if b.read}
    before = len(read)

    def read_now(chosen: list[TextBox]) -> None:
        results = reading.read_boxes(rgb, chosen, settings.read_max_width)
        for box, result in zip(chosen, results, strict=True):
            box.read = result[0][:READ_MAX_CHARACTERS]
            read[id(box)] = result

    def is_text(box: TextBox) -> bool:
        words, confidence = read[id(box)]
        return readable(
            words, confidence, settings.read_min_confidence, settings.read_min_characters
        )

    # A tiling is one word repeated: lines alike in shape that read as
    # different words are lettering (road signs, a backdrop), and are judged
    # again without the tiling.
    tiled = sorted((b for b in boxes if b.reason == "tiled"), key=lambda b: -_length(b))
    sample = [b for b in tiled if id(b) not in read][: min(settings.read_tile_lines, budget)]
    if len(sample) >= 2:
        read_now(sample)
        words = [(b.read, b.height, b.angle) for b in sample if is_text(b)]
        if len(words) == len(sample) and not same_word_groups(
            words,
            settings.read_same_word_min_letters,
            float("inf"),
            180.0,
            settings.read_letters_per_error,
            same_short_words=True,
        ):
            for box in tiled:
                box.kind, box.reason = "scene", ""
            classify(boxes, gray, settings.model_copy(update={"tiled_min_boxes": len(boxes) + 1}))
    # Added on shape alone: read to see whether they are text at all. Corner
    # marks (logos, signatures) stay: a logo need not have letters, and
    # script reads poorly.
    check = [b for b in boxes if b.kind == "overlay" and b.reason != "tiled" and id(b) not in read]
    scene = [b for b in boxes if b.kind == "scene" and id(b) not in read]

    def like_one_of(box: TextBox, others: list[TextBox]) -> bool:
        return any(other is not box and alike(box, other, settings) for other in others)

    # Scene lines of the height and angle of an added one may be more of
    # it; then the longest (a centred mark is one long line).
    scene.sort(key=lambda b: (not like_one_of(b, check), -_length(b)))
    read_now((check + scene)[: max(0, budget - (len(read) - before))])
    # A corner line that reads as a piece of the tiling's word, a letter or
    # more, is a copy cut by the picture's edge; a turned one that reads as a
    # piece of a tiled or diagonal mark's words (a reading error per 4
    # letters) is more of that mark.
    marks = [
        (clean(b.read), b.reason)
        for b in boxes
        if b.reason in ("tiled", "diagonal") and id(b) in read
    ]
    marks = [(word, why) for word, why in marks if len(word) >= settings.read_min_characters]
    tile_words = [word for word, why in marks if why == "tiled"]
    picture_h, picture_w = gray.shape[:2]

    def is_mark(box: TextBox, words: str) -> bool:
        return (
            cue_in(
                words,
                settings.read_cues,
                at_edge=box.position != "centre",
                cut=touches_edge(box, picture_w, picture_h, settings.read_cues.edge_touch),
            )
            is not None
        )

    text_lines: list[TextBox] = []
    for box in boxes:
        if id(box) not in read:
            continue
        piece = clean(box.read)
        if _corner_mark(box) and piece and any(piece in word for word in tile_words):
            box.kind, box.reason = "overlay", "tiled"
        elif (
            box.kind == "scene"
            and abs(box.angle) > settings.level_max_angle
            and len(piece) >= settings.read_piece_min_letters
        ):
            allowed = len(piece) // settings.read_letters_per_error
            near = [why for word, why in marks if near_in(piece, word) <= allowed]
            if near:
                box.kind, box.reason = "overlay", near[0]
        if not is_text(box):
            # A corner mark may read poorly (script, a logo's letters) but
            # reads as letters; one that reads as less is not text.
            if (
                box.kind == "overlay"
                and box.reason != "tiled"
                and (not _corner_mark(box) or len(piece) < settings.read_min_characters)
            ):
                box.kind, box.reason = "scene", ""
            continue
        text_lines.append(box)
        if box.kind == "scene" and is_mark(box, box.read):
            box.kind, box.reason = "overlay", "wording"
    # Two lines read as one (a mark across a sign's line): halves read apart,
    # of lines read as text only (read-min-confidence or more).
    if settings.split_max_lines:
        from lintcap.image.halves import read_halves

        read_halves(rgb, [(b, read[id(b)][1]) for b in text_lines], settings, is_mark)
    # All lines reading one word, and the turned ones again with a looser
    # height ratio: their heights from the detector are rough (a faint
    # copy's box is thinner).
    turned = [b for b in text_lines if abs(b.angle) > settings.level_max_angle]
    groups = [
        [lines[i] for i in group]
        for lines, height_ratio in (
            (text_lines, settings.tiled_max_height_ratio),
            (turned, settings.read_same_word_turned_height_ratio),
        )
        for group in same_word_groups(
            [(b.read, b.height, b.angle) for b in lines],
            settings.read_same_word_min_letters,
            height_ratio,
            settings.tiled_max_angle,
            settings.read_letters_per_error,
        )
    ]
    for members in groups:
        level = all(abs(b.angle) <= settings.level_max_angle for b in members)
        if len(members) >= (settings.read_same_word_min_level if level else 2):
            for box in members:
                if box.kind == "scene" or box.reason in ("see-through", "margin", "wording"):
                    box.kind, box.reason = "overlay", "tiled"
    # A short turned line reading as a word, in no tiling: a diagonal mark.
    for box in text_lines:
        if box.kind == "scene" and _steep_word(box, read[id(box)][1], settings):
            box.kind, box.reason = "overlay", "diagonal"
    # A corner mark of a tiling's height and angle is a copy of it cut by the
    # picture's edge (as the shape's tiling takes in such lines: classify),
    # whatever piece of the word it reads: not a credit standing alone. So is
    # one cut by the edge at the height and angle of a mark read inside the
    # picture (a tiling of which the detector saw two copies) when that mark
    # lies in the centre, is tiled or diagonal, or is turned: a web address
    # along the same edge, of the same lettering, beside a signature in the
    # corner is a credit band, not a tiling (its words may hold the
    # signature's: www.janeroe.com, Jane Roe).
    tiles = [b for b in text_lines if b.reason == "tiled"]
    inside = [b for b in text_lines if b.kind == "overlay" and b.position != "corner"]
    for box in boxes:
        if _corner_mark(box) and (
            any(alike(box, copy, settings) for copy in tiles)
            or (
                touches_edge(box, picture_w, picture_h, settings.read_cues.edge_touch)
                and any(alike(box, mark, settings) and _copied(mark, settings) for mark in inside)
            )
        ):
            box.kind, box.reason = "overlay", "tiled"
    # A corner line whose words the scene shows again, at any size (a
    # backdrop's name repeated), is the scene's, not a mark standing alone;
    # so are the corner lines stacked on it (the backdrop's line above, cut
    # by the picture's edge, reads as nothing the scene shows).
    scene_words = [clean(b.read) for b in text_lines if b.kind == "scene"]
    backdrops: list[TextBox] = []
    for box in text_lines:
        if not (_corner_mark(box) and scene_words):
            continue
        # At any size and angle; each scene word against this line alone.
        mark = clean(box.read)
        if any(
            one_word(
                mark,
                word,
                settings.read_backdrop_min_letters,
                settings.read_backdrop_letters_per_error,
            )
            for word in scene_words
        ):
            box.kind, box.reason = "scene", ""
            backdrops.append(box)
    for box in boxes:
        if _corner_mark(box) and any(stacked(box, line, settings) for line in backdrops):
            box.kind, box.reason = "scene", ""
    return len(read) - before


def _copied(mark: TextBox, settings: TextSettings) -> bool:
    """Whether a corner line alike ``mark`` can be a cut copy of it: the mark
    lies in the centre, is called tiled or diagonal, or is turned (a credit
    along an edge is level and stands alone)."""
    return (
        mark.position == "centre"
        or mark.reason in ("tiled", "diagonal")
        or abs(mark.angle) > settings.level_max_angle
    )


def _steep_word(box: TextBox, confidence: float, settings: TextSettings) -> bool:
    """Whether a line too short to be a diagonal mark by shape is one by its
    reading: turned ``read-steep-min-degrees`` to ``read-steep-max-degrees``
    (marks are laid at 20-45 degrees; scene text leans that far only where the
    camera or the surface is turned, and then rarely reads cleanly), a word of
    ``read-steep-min-letters`` letters read at ``read-steep-min-confidence``,
    a line (``diagonal-min-elongation``), not a blob. Whatever it says: the
    pieces of a faint diagonal mark the detector sees are short."""
    from lintcap.image.text import _length

    steep = abs(box.angle)
    letters = sum(ch.isalpha() for ch in box.read)
    return (
        settings.read_steep_min_letters > 0
        and settings.read_steep_min_degrees <= steep <= settings.read_steep_max_degrees
        and letters >= settings.read_steep_min_letters
        and confidence >= settings.read_steep_min_confidence
        and _length(box) >= settings.diagonal_min_elongation * box.height
    )


def _corner_mark(box: TextBox) -> bool:
    return box.position == "corner" and box.reason in ("margin", "see-through")
