"""CSV files with planted bad rows, for the import tests and the audiences benchmark."""

import csv
import io

# Each kind of row an import must refuse, with the reason code it is reported with.
BAD_ROWS = [
    (["not-an-address", "Bad", "en", "", ""], "email"),
    (["two@@example.org", "Bad", "en", "", ""], "email"),
    (["x@example.org", "Bad", "klingon", "", ""], "language"),
    (["y@example.org", "Bad", "en", "Mars/Olympus", ""], "timezone"),
    (["z@example.org", "N" * 201, "en", "", ""], "long_name"),
    (["w@例子", "Bad", "zh", "", ""], "email"),
]
HEADER = ["email", "name", "language", "timezone", "tags"]


def planted_csv(
    rows: int, bad_every: int = 50, encoding: str = "utf-8-sig", prefix: str = "user"
) -> tuple[bytes, dict[int, str]]:
    """(file, {row number: reason code}) with one bad row in every `bad_every` (2 % by
    default), the rest valid and distinct; names in Chinese and Latin, a few tags.
    Rows are numbered as the report numbers them: the header is row 1."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    planted = {}
    for i in range(rows):
        row = i + 2
        if bad_every and i % bad_every == bad_every - 1:
            cells, code = BAD_ROWS[(i // bad_every) % len(BAD_ROWS)]
            planted[row] = code
            writer.writerow(cells)
            continue
        name = f"用户{i}" if i % 3 else f"Reader {i}"
        language = ("zh", "en", "")[i % 3]
        zone = ("Asia/Shanghai", "", "Europe/Berlin")[i % 3]
        tags = ",".join(f"t{(i * k) % 200}" for k in (1, 7) if (i + k) % 4)
        writer.writerow([f"{prefix}{i}@example.org", name, language, zone, tags])
    return buffer.getvalue().encode(encoding), planted
