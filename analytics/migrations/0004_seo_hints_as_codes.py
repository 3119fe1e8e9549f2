"""Stored SEO hints become codes with parameters (put in words for each reader).

Hints stored before were {"code": <check>, "level", "message"}: the words of whoever
saved the page. They become {"check", "code", "level", "params", "message"}; their
code ("<check>" alone) is unknown to content.seo.messages, so the stored message is
shown as it was until the page is analysed again.
"""

from django.db import migrations


def to_codes(apps, schema_editor):
    SeoAnalysis = apps.get_model("analytics", "SeoAnalysis")
    for analysis in SeoAnalysis.objects.only("pk", "hints").iterator(chunk_size=500):
        hints = analysis.hints or []
        if all("check" in h for h in hints):
            continue
        analysis.hints = [
            h
            if "check" in h
            else {
                "check": h.get("code", ""),
                "code": h.get("code", ""),
                "level": h.get("level", ""),
                "params": {},
                "message": h.get("message", ""),
            }
            for h in hints
        ]
        analysis.save(update_fields=["hints"])


def to_messages(apps, schema_editor):
    """Back to {"code": <check>, "level", "message"}: hints analysed since keep no words
    (the old code showed none for them), which only a new analysis brings back."""
    SeoAnalysis = apps.get_model("analytics", "SeoAnalysis")
    for analysis in SeoAnalysis.objects.only("pk", "hints").iterator(chunk_size=500):
        analysis.hints = [
            {
                "code": h.get("check", h.get("code", "")),
                "level": h.get("level", ""),
                "message": h.get("message", ""),
            }
            for h in analysis.hints or []
        ]
        analysis.save(update_fields=["hints"])


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0003_alter_event_options_alter_seoanalysis_options_and_more"),
    ]

    operations = [migrations.RunPython(to_codes, to_messages)]
