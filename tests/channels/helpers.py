import datetime
import io

import pytest
from django.core.files.images import ImageFile
from django.test import override_settings
from django.utils import timezone
from wagtail.images.models import Image

from campaigns import services
from campaigns.models import Publication
from channels.base import PublishError


def make_image(title="Blender photo", name="blender.png"):
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "PNG")
    return Image.objects.create(
        title=title, file=ImageFile(io.BytesIO(buffer.getvalue()), name=name)
    )


def publish_error(callable_, *args, **kwargs) -> PublishError:
    with pytest.raises(PublishError) as info:
        callable_(*args, **kwargs)
    return info.value


short_timeout = override_settings(OUTBOUND_HTTP_TIMEOUT=0.5)


TERMINAL = ("published", "failed", "cancelled")


def run_attempts_until_settled(publication, limit: int = 10) -> list[str]:
    """Drive `publication` through the real publish service the way the dispatcher and
    the publish task do: claim it when due (the clock jumps to its due time, so backoffs
    pass at once), run publish_publication, and again while the service has put it back
    (scheduled, or unknown with a due time). Returns each attempt's result, e.g.
    ["unknown", "found"]. `publication` is refreshed from the database."""
    results = []
    now = timezone.now()
    for _ in range(limit):
        publication.refresh_from_db()
        if publication.status in TERMINAL or publication.due_at is None:
            break
        now = max(now, publication.due_at) + datetime.timedelta(seconds=1)
        claimed = services.claim_due_publications(now=now, enqueue=lambda ids: None)
        assert claimed == [publication.pk], claimed
        results.append(services.publish_publication(publication.pk))
    publication.refresh_from_db()
    return results


def make_due(publication) -> None:
    """Write `publication` as scheduled and already due, as the dispatcher would find it
    (scheduling itself is tested in tests/campaigns)."""
    when = timezone.now() - datetime.timedelta(seconds=1)
    Publication.objects.filter(pk=publication.pk).update(
        status=Publication.Status.SCHEDULED, publish_at=when, due_at=when
    )
    publication.refresh_from_db()
