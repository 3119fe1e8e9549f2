"""The journey harness: a real Chromium, driven by Playwright, clicking through the
Wagtail admin as one person would.

`Journey` wraps a Playwright page. After `login()` its `goto` (and the page's own) raise:
every later step is a click on something a person can see, found by its role and its
visible, translated name. Each `step()` saves a screenshot to
var/screenshots/<role>-<lang>/<nn>-<step>.png. Browser console errors and uncaught page
errors are collected and fail the test at teardown (see conftest.py).

Labels are looked up through Django's own catalogues (`Journey.t`): in Chinese a label
that has no translation fails the step, instead of the test quietly clicking English.
"""

import re
import shutil
from pathlib import Path

from django.utils import translation
from django.utils.text import capfirst
from playwright.sync_api import Locator, Page, expect

from tests.conftest import missing_service

SCREENSHOT_ROOT = Path(__file__).resolve().parent.parent.parent / "var" / "screenshots"
LANGUAGES = ("en", "zh-hans")
PASSWORD = "journey-pw-2026"
CJK = re.compile(r"[\u3400-\u9fff]")
# Generous for a shared 2-core CI machine; expect() polls, so a fast run never waits.
STEP_TIMEOUT_MS = 15_000

CSP_VIOLATION_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || document.location.href}:${e.lineNumber} (${e.disposition})`);
});
"""


def chromium_path() -> str:
    """Debian's chromium, launched by path: the suite never downloads a browser."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    missing_service("chromium (apt-get install -y chromium)")


def translate(msgid: str, lang: str, context: str | None = None, js: bool = False) -> str:
    """`msgid` in `lang`, from the server catalogues or (`js`) the JavaScript ones that
    Wagtail's sidebar and explorer use."""
    if js:
        from django.utils.translation.trans_real import DjangoTranslation

        catalogue = DjangoTranslation(lang, domain="djangojs")
        return catalogue.pgettext(context, msgid) if context else catalogue.gettext(msgid)
    with translation.override(lang):
        if context:
            return translation.pgettext(context, msgid)
        return translation.gettext(msgid)


class NavigationRefused(AssertionError):
    """A journey typed a URL after login: the step it wanted is not reachable by clicking."""


class Journey:
    """One person's session in the admin. Steps reach everything by clicking."""

    def __init__(self, page: Page, base_url: str, role: str, lang: str, part: str = ""):
        self.page = page
        self.base_url = base_url
        self.role = role
        self.lang = lang
        self.console_errors: list[str] = []
        self.defects: list[str] = []
        self._step = 0
        self._logged_in = False
        # A role's day may be cut into parts (one test each): their shots share the
        # folder, each named after its part, and a run replaces only its own.
        self.shots = SCREENSHOT_ROOT / f"{role}-{lang}"
        self.prefix = f"{part}-" if part else ""
        if self.shots.is_dir():
            for old in self.shots.glob(f"{self.prefix}[0-9][0-9]-*.png"):
                old.unlink()
        self.shots.mkdir(parents=True, exist_ok=True)
        page.set_default_timeout(STEP_TIMEOUT_MS)
        expect.set_options(timeout=STEP_TIMEOUT_MS)
        # Every tab of this person's browser: the main one and any it opens (a preview).
        # Chromium logs most Content-Security-Policy refusals itself; the listener also
        # reports the ones it does not (and any in frames), as console errors.
        page.context.add_init_script(CSP_VIOLATION_LISTENER)
        self.watch(page)
        page.context.on("page", self.watch)

    def watch(self, page: Page):
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.console_errors.append(f"pageerror: {exc}"))

    def _on_console(self, message):
        if message.type == "error":
            where = message.location or {}
            self.console_errors.append(
                f"console.error: {message.text} ({where.get('url', '?')}:{where.get('lineNumber', '?')})"
            )

    def check(self, ok: bool, defect: str):
        """A soft assertion: the journey goes on, and the test fails at its end listing
        every `defect` seen (so one missing screen does not hide the next)."""
        if not ok:
            self.defects.append(f"step {self._step + 1}: {defect}")

    def reload(self):
        """The browser's reload (F5): the same page again, not a typed URL."""
        self.page.reload()

    # -- language ---------------------------------------------------------------------

    def t(
        self,
        msgid: str,
        context: str | None = None,
        *,
        js: bool = False,
        same_in_chinese: bool = False,
        **params,
    ) -> str:
        """`msgid` as the person sees it, %-formatted with `params`. In Chinese the text
        must be translated (contain Chinese characters), unless `same_in_chinese` (a brand
        or a code, e.g. "SMTP"). `js`: a string of Wagtail's client-side catalogue."""
        text = translate(msgid, self.lang, context, js=js)
        # Checked before the parameters go in: a Chinese title must not hide a missing
        # translation of the sentence around it.
        if self.lang != "en" and not same_in_chinese:
            assert CJK.search(text), f"no {self.lang} translation for {msgid!r} (got {text!r})"
        return text % params if params else text

    def tn(self, singular: str, plural: str, n: int, **params) -> str:
        """The singular or plural sentence for `n`, as ngettext picks it, formatted with
        `n` and `params`; untranslated Chinese fails as in `t`."""
        with translation.override(self.lang):
            text = translation.ngettext(singular, plural, n)
        if self.lang != "en":
            assert CJK.search(text), f"no {self.lang} translation for {singular!r} (got {text!r})"
        return text % {"n": n, **params}

    def tn_pattern(self, singular: str, plural: str) -> re.Pattern:
        """Either form of a counted sentence, whatever its number: for a message whose
        count moves while it is read (a send's messages still waiting)."""
        forms = []
        with translation.override(self.lang):
            for n in (1, 2):
                text = translation.ngettext(singular, plural, n)
                if self.lang != "en":
                    assert CJK.search(text), f"no {self.lang} translation for {singular!r}"
                forms.append(re.escape(text).replace(re.escape("%(n)s"), r"\d+"))
        return re.compile("|".join(forms))

    def label(self, verbose_name: str, **kwargs) -> str:
        """A form field's label as Django makes it from a model's verbose name."""
        return capfirst(self.t(verbose_name, **kwargs))

    # -- navigation -------------------------------------------------------------------

    def goto(self, path: str):
        if self._logged_in:
            raise NavigationRefused(
                f"typed URL {path!r} after login: every step must be reachable by clicking"
            )
        return self.page.goto(self.base_url + path)

    def login(self, username: str, password: str = PASSWORD):
        """Type into Wagtail's own sign-in form; from then on only clicks are allowed."""
        self.goto("/admin/")
        self.page.locator("input[name=username]").fill(username)
        self.page.locator("input[name=password]").fill(password)
        self.page.locator("form button[type=submit]").click()
        expect(self.page.locator("input[name=password]")).to_have_count(0)
        assert "/admin/" in self.page.url, self.page.url
        self._logged_in = True

        def refuse(url, **kwargs):
            raise NavigationRefused(f"page.goto({url!r}) after login: click instead")

        self.page.goto = refuse  # the raw page refuses too, not only this wrapper
        self.step("home")

    # -- screenshots ------------------------------------------------------------------

    def step(self, name: str):
        """Mark a named step: wait for the page to settle, save its screenshot."""
        self._step += 1
        self.page.wait_for_load_state("load")
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        self.page.screenshot(
            path=str(self.shots / f"{self.prefix}{self._step:02d}-{slug}.png"), full_page=True
        )

    # -- clicks -----------------------------------------------------------------------

    def click_menu(self, *labels: str):
        """Open the sidebar path `labels` (already translated): submenus, then the item."""
        sidebar = self.page.locator("#wagtail-sidebar")
        for label in labels[:-1]:
            sidebar.get_by_role("button", name=label, exact=True).click()
        sidebar.get_by_role("link", name=labels[-1], exact=True).click()
        self.page.wait_for_load_state("load")

    def click_link(self, name: str | re.Pattern, *, within: Locator | None = None, exact=True):
        scope = within or self.page
        scope.get_by_role(
            "link", name=name, exact=exact if isinstance(name, str) else None
        ).first.click()
        self.page.wait_for_load_state("load")

    def click_button(self, name: str | re.Pattern, *, within: Locator | None = None, exact=True):
        scope = within or self.page
        scope.get_by_role(
            "button", name=name, exact=exact if isinstance(name, str) else None
        ).first.click()
        self.page.wait_for_load_state("load")

    def field(self, label: str, exact=True) -> Locator:
        """The input, textarea or select labelled `label` (not a panel that a Wagtail
        heading labels with the same words). `exact` still allows Django's label suffix
        and a required-field asterisk around the label."""
        inputs = self.page.locator("input, textarea, select, [contenteditable=true]")
        name = label
        if exact:
            name = re.compile(rf"^\s*{re.escape(label)}\s*[:：]?\s*\*?\s*$")
        return self.page.get_by_label(name).and_(inputs).first

    def field_help(self, label: str) -> str:
        """The help text of the field labelled `label` (what its aria-describedby names)."""
        ids = (self.field(label).get_attribute("aria-describedby") or "").split()
        return " ".join(self.page.locator(f"[id='{i}']").inner_text() for i in ids)

    def fill_field(self, label: str, value: str, exact=True):
        """Type `value` and leave the field (Tab), as a person does: Wagtail acts on
        "change" (the slug follows the title then), which only leaving the field fires."""
        field = self.field(label, exact)
        field.fill(value)
        field.press("Tab")

    def choose(self, label: str, option: str, exact=True):
        """Pick `option` in the select labelled `label`: the option whose visible text is
        `option`, else the one text that contains it (e.g. "Name (kind)")."""
        select = self.field(label, exact)
        texts = [t.strip() for t in select.locator("option").all_inner_texts()]
        matches = [t for t in texts if t == option] or [t for t in texts if option in t]
        assert len(matches) == 1, f"{label!r} offers no single {option!r}: {texts}"
        select.select_option(label=matches[0])

    def expect_text(self, text: str | re.Pattern, within: Locator | None = None):
        expect((within or self.page.locator("body")).get_by_text(text).first).to_be_visible()

    def expect_message(self, text: str | re.Pattern):
        """A Wagtail admin message (success, error) naming `text`."""
        expect(self.page.locator(".messages").get_by_text(text).first).to_be_visible()
