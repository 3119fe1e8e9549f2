"""No admin screen renders a form in Django's plain look: admin forms use Wagtail's own
layout ({% formattedfield %}, wagtailadmin/shared/field.html, panels or viewsets).

An admin template is one whose {% extends %} chain, through the project's templates,
reaches Wagtail's admin ("wagtailadmin/..."), or one kept under an admin/ folder. The
public subscribe and preference pages have their own look and are not checked."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SKIP = {".venv", "var", "node_modules", ".git"}
# form.as_p and kin, and a bare {{ form }} (Django renders it with as_div).
PLAIN_RENDERING = re.compile(r"\b\w+\.as_(p|table|ul|div)\b|{{\s*\w*form\s*}}")
EXTENDS = re.compile(r"""{%\s*extends\s+["']([^"']+)["']""")


def project_templates() -> dict[str, Path]:
    """Template name ("app/x.html") -> file, for every templates/ folder of the project."""
    found = {}
    for path in ROOT.rglob("templates/**/*.html"):
        if SKIP.intersection(path.relative_to(ROOT).parts):
            continue
        parts = path.relative_to(ROOT).parts
        name = "/".join(parts[parts.index("templates") + 1 :])
        found[name] = path
    return found


def is_admin(name: str, templates: dict[str, Path], seen=()) -> bool:
    if "/admin/" in f"/{name}":
        return True
    match = EXTENDS.search(templates[name].read_text(encoding="utf-8"))
    if not match:
        return False
    parent = match.group(1)
    if parent.startswith("wagtailadmin/"):
        return True
    return parent in templates and parent not in seen and is_admin(parent, templates, (*seen, name))


def test_the_walk_finds_the_admin_templates():
    templates = project_templates()
    assert is_admin("campaigns/campaign_form.html", templates)  # via campaigns/base.html
    assert not is_admin("audiences/subscribe.html", templates)  # a public page


def test_no_admin_template_renders_a_form_with_as_p_as_table_as_ul_or_as_div():
    templates = project_templates()
    offenders = [
        f"{templates[name].relative_to(ROOT)}:{number}: {line.strip()}"
        for name in sorted(templates)
        if is_admin(name, templates)
        for number, line in enumerate(
            templates[name].read_text(encoding="utf-8").splitlines(), start=1
        )
        if PLAIN_RENDERING.search(line)
    ]
    assert not offenders, "admin forms in Django's plain look:\n" + "\n".join(offenders)
