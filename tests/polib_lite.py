"""A few lines of .po reading for the catalogue test (no extra dependency)."""

import re
from pathlib import Path


def untranslated(path: Path) -> list[str]:
    """msgids in `path` whose msgstr is empty or that are marked fuzzy (header excluded)."""
    missing = []
    for entry in path.read_text(encoding="utf-8").split("\n\n"):
        ids = re.search(r'^msgid ((?:".*"\n)+)', entry + "\n", re.M)
        if not ids:
            continue
        msgid = "".join(re.findall(r'"(.*)"', ids.group(1)))
        if not msgid:
            continue
        if "#, fuzzy" in entry:
            missing.append(msgid)
            continue
        strs = re.findall(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', entry + "\n", re.M)
        # Chinese has one plural form (nplurals=1), so msgstr[0] is the one that counts.
        if not strs or not "".join(re.findall(r'"(.*)"', strs[0])):
            missing.append(msgid)
    return missing


def msgids(path: Path) -> list[str]:
    """Every msgid (and msgid_plural) in `path`, header excluded, escapes undone."""
    found = []
    for entry in path.read_text(encoding="utf-8").split("\n\n"):
        for key in ("msgid", "msgid_plural"):
            ids = re.search(rf'^{key} ((?:".*"\n)+)', entry + "\n", re.M)
            if ids:
                text = "".join(re.findall(r'"(.*)"', ids.group(1)))
                text = text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
                if text:
                    found.append(text)
    return found
