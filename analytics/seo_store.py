"""One SEO analysis kept per page revision (SeoAnalysis), so dashboards can show the
trend of a page's score. Hints are stored as codes with parameters
(content.seo.result.Hint.as_dict), never as words: whoever shows them puts them in the
reader's language (content.seo.messages).

content.seo analyses a page whenever it is saved in the editor and announces the result
(content.seo.page_analysed); the receiver below stores it. Content never imports
analytics: the dependency points this way. AnalyticsConfig.ready() imports this module,
which connects the receiver.
"""

from django.dispatch import receiver

from content.seo import SeoResult, analyse_page, page_analysed

from .models import SeoAnalysis


def save_analysis(page, revision, result: SeoResult) -> SeoAnalysis:
    """Store `result` for `revision`; idempotent per revision (the row is updated).
    Without a revision every call adds a row."""
    defaults = {
        "page_id": page.pk,
        "keyphrase": result.keyphrase[:100],
        "language": result.language,
        "score": result.score,
        "hints": result.hints_as_dicts(),
    }
    if revision is None:
        return SeoAnalysis.objects.create(**defaults)
    analysis, _created = SeoAnalysis.objects.update_or_create(revision=revision, defaults=defaults)
    return analysis


def store_page_analysis(page, revision=None) -> SeoAnalysis:
    """Analyse `page` and store the result for `revision` (default: its latest).
    Idempotent per revision: analysing the same revision again updates its row."""
    result = analyse_page(page)
    return save_analysis(page, revision or getattr(page, "latest_revision", None), result)


@receiver(page_analysed, dispatch_uid="analytics-store-seo-analysis")
def store_announced_analysis(sender, page, revision, result, **kwargs) -> None:
    save_analysis(page, revision, result)
