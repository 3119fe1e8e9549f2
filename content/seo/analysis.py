"""`analyse`: score plain inputs from 0 to 100 and return concrete hints, by running
the checks of content.seo.checks in order."""

from .checks import (
    SeoInputs,
    check_density,
    check_description_length,
    check_image_alt,
    check_keyphrase_placement,
    check_keyphrase_set,
    check_links,
    check_readability,
    check_slug,
    check_text_length,
    check_title_length,
    measure,
)
from .result import Findings, SeoResult, score

# In the order their hints appear. The keyphrase checks run only with a keyphrase
# (check_keyphrase_set stands in for them without one).
GENERAL_CHECKS = (check_title_length, check_description_length, check_text_length)
KEYPHRASE_CHECKS = (check_keyphrase_placement, check_slug, check_density, check_image_alt)
CLOSING_CHECKS = (check_links, check_readability)


def analyse(**inputs) -> SeoResult:
    """Score from 0 to 100 plus hints, from the keywords `measure` takes. Every check
    has a weight; a check earns all of it (good), half (improvement) or nothing
    (problem)."""
    page = measure(**inputs)
    return compose(page, [check(page) for check in checks_for(page)])


def checks_for(page: SeoInputs) -> list:
    """The checks that apply to `page`, in the order their hints appear."""
    checks = [*GENERAL_CHECKS, check_keyphrase_set]
    if page.keyphrase:
        checks += KEYPHRASE_CHECKS
    return checks + list(CLOSING_CHECKS)


def compose(page: SeoInputs, findings: list[Findings]) -> SeoResult:
    """One result from the checks' findings, in order."""
    items = [item for found in findings for item in found.items]
    stats = {
        "language": page.language,
        "text_size": page.text_size,
        "tokens": len(page.body_tokens),
    }
    for found in findings:
        stats.update(found.stats)
    return SeoResult(
        score=score(items),
        language=page.language,
        keyphrase=page.keyphrase,
        hints=[item.hint for item in items],
        stats=stats,
    )
