"""docs/architecture.md stays the map of the code: every module of the apps is named in
its app's part of the "Modules" section, so a new module comes with its line."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("config", "content", "campaigns", "channels", "analytics")
# Django's and Python's own furniture: no line needed.
LEFT_OUT_NAMES = {"__init__.py", "apps.py"}
LEFT_OUT_DIRS = {"migrations", "management", "templatetags", "locale", "templates", "static"}


def modules_section() -> dict[str, str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("<!-- modules:start -->")[1].split("<!-- modules:end -->")[0]
    parts = re.split(r"^\*\*(\w+)/\*\*$", section, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def app_modules(app: str) -> list[Path]:
    return [
        path
        for path in sorted((ROOT / app).rglob("*.py"))
        if path.name not in LEFT_OUT_NAMES and not LEFT_OUT_DIRS & set(path.parts)
    ]


def test_every_module_has_its_line():
    sections = modules_section()
    assert set(sections) == set(APPS)
    missing = [
        str(path.relative_to(ROOT))
        for app in APPS
        for path in app_modules(app)
        if f"{path.name}`" not in sections[app] and f"{path.stem}`" not in sections[app]
    ]
    assert not missing, f"name these in docs/architecture.md, Modules: {missing}"


def test_the_readme_points_inside_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/architecture.md" in readme
    assert "../shared/DESIGN.md" not in readme
