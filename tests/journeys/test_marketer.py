"""The marketer's day, by clicking only, in English and in Chinese: the SMTP account,
the CSV imports and a segment. The campaign and its publications are in
test_marketer_campaign.py, the send in test_marketer_send.py.

The day is cut into parts, each its own test starting at /admin/ after login, with what
the earlier parts make set up through the services: one broken screen then fails its
own part and does not hide the others.
"""

import re

import pytest
from django.utils import translation
from django.utils.text import capfirst
from playwright.sync_api import expect

from .conftest import READERS
from .harness import CJK

pytestmark = pytest.mark.django_db(transaction=True)


def menu_label(j, model) -> str:
    """The Audiences submenu's label of `model`, as Wagtail makes it: its plural name.
    A plural Django made by adding "s" to a translated name ("分组s") is reported, and
    the journey goes on with what the menu shows."""
    with translation.override(j.lang):
        plural = capfirst(str(model._meta.verbose_name_plural))
    j.check(
        j.lang == "en" or (CJK.search(plural) and not re.search(r"[\u3400-\u9fff]s$", plural)),
        f"the {model.__name__} menu item reads {plural!r}: a translated plural is wanted "
        "(with no verbose_name_plural, Django adds an English 's' to the translated name)",
    )
    return plural


# -- the SMTP account, with the form ------------------------------------------------------

SMTP_SETTINGS = {
    "security": "none",
    "from_name": "Hub News",
    "from_email": "news@hub.example.com",
    "postal_address": "1 Example Street, Springfield",
    "default_list": "news",
    "batch_size": 10,
}


def test_marketer_creates_an_smtp_account_with_the_form(
    open_journey, make_user, lang, smtp_server, news_list
):
    from django import forms

    from channels.forms import kind_fields
    from channels.models import ChannelAccount

    controller, _handler = smtp_server
    make_user("marketer", lang)
    j = open_journey("marketer", lang, "account")
    j.login(f"marketer-{lang}")

    j.click_menu(j.t("Channels"), j.t("Accounts"))
    j.click_link(j.t("Add a channel account"))
    j.choose(j.t("Channel"), j.t("Email (SMTP)"))
    j.click_button(j.t("Continue"))
    j.step("smtp form")

    j.fill_field(j.label("name"), "Newsletter SMTP")
    j.field(j.label("internal network")).check()  # the loopback server is on this host
    values = {**SMTP_SETTINGS, "host": "127.0.0.1", "port": controller.port}
    # The form is built from the adapter's declaration of its settings: one typed,
    # labelled input per setting (issue 16, point 2), the labels in the reader's language.
    with translation.override(lang):
        declared, _secrets = kind_fields("email/smtp")
        with_lang = {name: (str(field.label), field) for name, field in declared.items()}
    assert "__json__" not in declared, "the SMTP settings are a raw JSON box"
    for name, value in values.items():
        label, field = with_lang[name]
        if isinstance(field, forms.ChoiceField):
            j.field(label).select_option(str(value))
        else:
            j.fill_field(label, str(value))
    # A secret is a password input, write-only.
    expect(j.page.locator("input[type=password]").first).to_be_visible()
    j.step("smtp form filled")
    j.click_button(j.t("Save and test connection"))
    j.expect_message(j.t("Channel account “%(name)s” saved.", name="Newsletter SMTP"))
    j.step("saved and tested")

    account = ChannelAccount.objects.get(name="Newsletter SMTP")
    assert account.kind == "email/smtp"
    assert account.settings["host"] == "127.0.0.1"
    assert int(account.settings["port"]) == controller.port
    # Test connection reached the loopback server and said so, with no error.
    expect(j.page.locator(".messages .error")).to_have_count(0)


# -- CSV import, UTF-8 and GBK ------------------------------------------------------------

# Two good rows and one that is not an address: the report must say so, offer the bad
# row as a CSV, and import only the good ones when asked.
CSV_ROWS = (
    "email,name,language\n"
    "li.lei@example.cn,李雷,zh-hans\n"
    "not-an-address,坏行,zh-hans\n"
    "han.mei@example.cn,韩梅梅,zh-hans\n"
)


def test_marketer_imports_csv_files_in_utf8_and_gbk(
    open_journey, make_user, lang, news_list, celery_running
):
    from campaigns.audiences.models import MailingList, Subscription

    make_user("marketer", lang)
    j = open_journey("marketer", lang, "import")
    j.login(f"marketer-{lang}")
    for encoding in ("utf-8", "gbk"):
        rows = CSV_ROWS.replace("example.cn", f"{encoding}.example.cn")
        # The list's own page has the Import CSV button (issue 16, point 1).
        j.click_menu(j.t("Audiences"), menu_label(j, MailingList))
        j.click_link("News")
        j.click_link(j.t("Import CSV"))
        j.page.get_by_label(j.t("CSV file")).set_input_files(
            {
                "name": f"readers-{encoding}.csv",
                "mimeType": "text/csv",
                "buffer": rows.encode(encoding),
            }
        )
        j.choose(j.t("Encoding"), j.t("Detect (UTF-8 or GBK)"))
        j.fill_field(j.t("Consent basis"), "Signed up at the spring fair, 2026")
        j.step(f"upload {encoding}")
        j.click_button(j.t("Next: match the columns"))

        # Step 2: the first rows, read right whichever the encoding, and the columns.
        j.expect_text("韩梅梅")
        j.expect_text(j.t("Read as %(enc)s. The first rows:") % {"enc": encoding})
        j.step(f"columns {encoding}")
        j.click_button(j.t("Next: check the rows"))

        # Step 3: the report, which refreshes itself while the worker checks the rows;
        # nothing is imported until the person says so.
        import_valid = j.page.get_by_role(
            "button",
            name=j.tn("Import the %(n)s valid row", "Import the %(n)s valid rows", 2),
        )
        expect(import_valid).to_be_visible()
        j.expect_text(j.tn("%(n)s row rejected", "%(n)s rows rejected", 1))
        expect(j.page.get_by_role("link", name=j.t("Download the error CSV"))).to_be_visible()
        rejected = j.page.locator("table.import-report__rows tbody tr")
        expect(rejected).to_have_count(1)
        expect(rejected).to_contain_text("not-an-address")
        reason = rejected.locator("td").nth(2).inner_text()
        j.check(
            j.lang == "en" or bool(CJK.search(reason)),
            f"the rejected row's reason is not in the reader's language: {reason!r}",
        )
        assert not Subscription.objects.filter(
            subscriber__email__endswith=f"{encoding}.example.cn"
        ).exists(), "rows were imported before the person chose to"
        j.step(f"report {encoding}")
        import_valid.click()
        j.expect_text(j.tn("%(n)s row imported", "%(n)s rows imported", 2))
        j.step(f"imported {encoding}")

    imported = Subscription.objects.filter(
        mailing_list=news_list, subscriber__email__contains="example.cn"
    )
    assert imported.count() == 4
    names = set(imported.values_list("subscriber__name", flat=True))
    assert names == {"李雷", "韩梅梅"}, names


# -- a segment, with the builder and its live count ---------------------------------------

CHINESE_READERS = 7


def test_marketer_builds_a_segment(open_journey, make_user, lang, news_list):
    from campaigns.audiences.models import Segment, Subscriber

    # A few of the list's readers read Chinese.
    chinese = Subscriber.objects.filter(email__startswith="reader").order_by("pk")
    Subscriber.objects.filter(
        pk__in=list(chinese.values_list("pk", flat=True)[:CHINESE_READERS])
    ).update(language="zh-hans")
    make_user("marketer", lang)
    j = open_journey("marketer", lang, "segment")
    j.login(f"marketer-{lang}")
    j.click_menu(j.t("Audiences"), menu_label(j, Segment))
    j.click_link(j.t("Add %(model_name)s", model_name=j.t("segment")), exact=False)
    j.step("new segment")
    j.fill_field(j.label("name"), "Chinese readers")
    j.choose(j.label("mailing list"), "News")

    # The builder counts as the rows change (issue 16, point 2), no raw JSON.
    count = j.page.locator("[data-count]")
    subscribers_match = lambda n: j.tn("%(n)s subscriber matches.", "%(n)s subscribers match.", n)  # noqa: E731
    expect(count).to_have_text(subscribers_match(READERS))
    expect(j.page.locator("textarea[name=filters]")).to_have_count(0)
    row = j.page.locator("[data-row]").first
    row.get_by_label(re.compile(rf"^\s*{re.escape(j.t('Condition'))}")).select_option(
        label=j.t("Language")
    )
    row.get_by_label(re.compile(rf"^\s*{re.escape(j.t('Language'))}")).select_option(
        label=j.t("Simplified Chinese")
    )
    expect(count).to_have_text(subscribers_match(CHINESE_READERS))
    j.step("segment built")
    j.click_button(j.t("Create"))
    j.expect_message("Chinese readers")
    j.step("segment saved")
    segment = Segment.objects.get(name="Chinese readers", mailing_list=news_list)
    rules = segment.filters["rules"]
    assert [(r["field"], r["value"]) for r in rules] == [("language", "zh-hans")], rules
