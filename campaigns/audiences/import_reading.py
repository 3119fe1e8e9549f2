"""Reading an import's CSV file and wording its report.

Files may be UTF-8 (with or without BOM) or GBK, the usual export of Chinese Excel.
Hostile files are reported, never a crash: a row the CSV reader refuses (a field over
csv.field_size_limit, 128 KiB, or any other csv.Error) is a rejected row with its row
and line number, and reading goes on with the next line; a file that cannot be decoded
or whose header cannot be read is a file error naming the line. Rows are read one at a
time from the decoded text (never all held as Python objects). Why a row was not
imported is kept as a code and its values (REASONS) and put into words for each reader.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

HEADER_GUESSES = {
    "email": {"email", "e-mail", "email address", "mail", "邮箱", "电子邮件", "邮件地址"},
    "name": {"name", "full name", "姓名", "名字"},
    "language": {"language", "lang", "语言"},
    "timezone": {"timezone", "time zone", "时区"},
    "tags": {"tags", "tag", "标签"},
}
REJECTED, SKIPPED = "rejected", "skipped"


class ImportFileError(ValueError):
    """The file cannot be read at all (encoding, not CSV)."""


def _line_of(data: bytes, position: int) -> int:
    return data.count(b"\n", 0, position) + 1


def decode_csv(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """(text, encoding used). "auto" tries UTF-8 (BOM allowed), then GBK. A file that
    decodes in neither is a file error naming the first line that does not."""
    candidates = ["utf-8-sig", "gbk"] if encoding == "auto" else [encoding]
    first_bad = None
    for candidate in candidates:
        try:
            return data.decode(candidate), ("utf-8" if candidate == "utf-8-sig" else candidate)
        except UnicodeDecodeError as exc:
            first_bad = exc.start if first_bad is None else min(first_bad, exc.start)
        except LookupError:
            continue
    if first_bad is None:
        raise ImportFileError(_("The file is neither UTF-8 nor GBK text."))
    if encoding == "auto":
        message = _("The file is neither UTF-8 nor GBK text (line %(line)s cannot be read).")
    else:
        message = _("The file is not %(encoding)s text (line %(line)s cannot be read).")
    raise ImportFileError(message % {"line": _line_of(data, first_bad), "encoding": encoding})


def _reader(text: str):
    return _csv_reader(io.StringIO(text, newline=""), text[:4096])


def sniff_dialect(sample: str):
    """The CSV dialect (delimiter, quoting) an import reads a file with."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _csv_reader(lines, sample: str):
    return csv.reader(lines, sniff_dialect(sample))


def _decodes(data: bytes, codec: str) -> bool:
    """Whether the whole file decodes, checked in blocks (nothing kept)."""
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        for start in range(0, len(data), 1 << 20):
            decoder.decode(data[start : start + (1 << 20)])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _text_stream(data: bytes, encoding: str):
    """The file as a stream of text, decoded as it is read: a large file is never held
    as one str (nor as StringIO's four bytes a character). Errors as decode_csv's."""
    candidates = ["utf-8-sig", "gbk"] if encoding == "auto" else [encoding]
    for candidate in candidates:
        try:
            if _decodes(data, candidate):
                return io.TextIOWrapper(io.BytesIO(data), encoding=candidate, newline="")
        except LookupError:
            continue
    decode_csv(data, encoding)  # raises the file error naming the line
    raise ImportFileError(_("The file is neither UTF-8 nor GBK text."))


def guess_mapping(header: list[str]) -> dict[str, int]:
    mapping = {}
    for index, title in enumerate(header):
        key = title.strip().lower()
        for field, names in HEADER_GUESSES.items():
            if key in names and field not in mapping:
                mapping[field] = index
    return mapping


def _csv_problem(exc: csv.Error, line: int) -> tuple[str, dict]:
    """A csv.Error as a REASONS code and its values."""
    if "field larger than field limit" in str(exc):
        return "too_long", {"line": line, "kib": csv.field_size_limit() // 1024}
    return "unreadable", {"line": line, "detail": str(exc)[:200]}


def _records(reader) -> Iterator[tuple[list[str], tuple[str, dict] | None]]:
    """The reader's records as (cells, None), and a record it refuses as ([], problem):
    reading goes on with the next line, so one bad field costs one row, not the file."""
    while True:
        line = reader.line_num
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield [], _csv_problem(exc, reader.line_num or line + 1)
            if reader.line_num == line:  # consumed nothing: the reader cannot go on
                return
            continue
        yield cells, None


def _header(reader) -> list[str]:
    try:
        return next(reader)
    except StopIteration:
        return []
    except csv.Error as exc:
        code, params = _csv_problem(exc, reader.line_num or 1)
        raise ImportFileError(
            _("The header row cannot be read: %(reason)s") % {"reason": describe_code(code, params)}
        ) from exc


def preview_csv(data: bytes, encoding: str = "auto", rows: int = 5) -> dict:
    """Header, the first rows, the encoding and a guessed column mapping. A first row
    the reader refuses is left out of the sample (the report names it)."""
    text, used = decode_csv(data, encoding)
    reader = _reader(text)
    header = _header(reader)
    if not header:
        raise ImportFileError(_("The file is empty or not CSV."))
    sample = []
    for cells, problem in _records(reader):
        if problem is None:
            sample.append(cells)
        if len(sample) >= rows or reader.line_num > 1000:
            break
    return {"header": header, "rows": sample, "encoding": used, "mapping": guess_mapping(header)}


def read_rows(
    data: bytes, encoding: str
) -> tuple[list[str], Iterator[tuple[int, list[str], tuple[str, dict] | None]]]:
    """(header, iterator of (row number, cells, problem)) with rows numbered as a
    spreadsheet shows them: the header is row 1, and a cell holding a line break is
    still one row. `problem` is set (a REASONS code and its values, cells empty) for a
    record the CSV reader refused."""
    stream = _text_stream(data, encoding)
    sample = stream.read(4096)
    stream.seek(0)
    reader = _csv_reader(stream, sample)
    header = _header(reader)
    if not header:
        return [], iter(())
    return header, ((n, cells, problem) for n, (cells, problem) in enumerate(_records(reader), 2))


# Why a row was not imported, kept as a code and its values and put into words when a
# person reads the report or the error CSV: the check runs in a worker, in nobody's
# language, and each reader gets their own.
REASONS = {
    "extra_columns": lambda p: (
        ngettext(
            "%(n)s more column than the header (an unquoted comma?)",
            "%(n)s more columns than the header (an unquoted comma?)",
            p["n"],
        )
        % p
    ),
    "nul": lambda p: _("contains a NUL character"),
    "too_long": lambda p: (
        _("line %(line)s: a field is longer than %(kib)s KiB; the row cannot be read") % p
    ),
    "unreadable": lambda p: _("line %(line)s cannot be read as CSV (%(detail)s)") % p,
    "short_row": lambda p: (
        ngettext(
            "%(n)s column where the header has %(width)s: no email address column",
            "%(n)s columns where the header has %(width)s: no email address column",
            p["n"],
        )
        % p
    ),
    "email": lambda p: _("not a valid email address"),
    "language": lambda p: _("unknown language %(lang)s") % p,
    "timezone": lambda p: _("unknown time zone %(zone)s") % p,
    "long_name": lambda p: _("name longer than 200 characters"),
    "long_tags": lambda p: _("tags longer than 1000 characters"),
    "duplicate": lambda p: _("duplicate of row %(row)s") % p,
    "suppressed": lambda p: _("suppressed address"),
    "unsubscribed": lambda p: _("unsubscribed from this list"),
    "already": lambda p: _("already on this list"),
    # File-wide reasons of a failed job.
    "crashed": lambda p: _("The import stopped on an unexpected error (%(error)s).") % p,
    "stale": lambda p: (
        ngettext(
            "The import stopped without finishing (no result after %(n)s minute).",
            "The import stopped without finishing (no result after %(n)s minutes).",
            p["n"],
        )
        % p
    ),
}


def describe(problem: dict) -> str:
    """A reported row's reason in the active language."""
    words = REASONS.get(problem.get("code", ""))
    return words(problem.get("params") or {}) if words else problem.get("problem", "")


def describe_code(code: str, params: dict) -> str:
    return describe({"code": code, "params": params})


def problem_row(
    row: int, cells: list[str], kind: str, code: str, params=None, email: str = "", text=""
) -> dict:
    # The report keeps the row as it was read (bounded, so a hostile file cannot bloat
    # the job row); the error CSV reads the file again for the full values. "problem"
    # is the reason in the worker's language, for logs and older readers.
    params = {k: storable(v) if isinstance(v, str) else v for k, v in (params or {}).items()}
    problem = {"code": code, "params": params}
    return {
        "row": row,
        "kind": kind,
        **problem,
        "problem": storable(text or describe(problem)),
        "email": storable(email[:254]),
        "values": [storable(c[:200]) for c in cells[:30]],
    }


def storable(text: str) -> str:
    # PostgreSQL's jsonb cannot hold U+0000: the report shows a replacement character.
    return text.replace("\x00", "\ufffd")
