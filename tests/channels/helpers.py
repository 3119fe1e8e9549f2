import io

import pytest
from django.core.files.images import ImageFile
from django.test import override_settings
from wagtail.images.models import Image

from channels.base import PublishError


def make_image(title="Blender photo", name="blender.png"):
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "PNG")
    return Image.objects.create(
        title=title, file=ImageFile(io.BytesIO(buffer.getvalue()), name=name)
    )


def publish_error(callable_, *args) -> PublishError:
    with pytest.raises(PublishError) as info:
        callable_(*args)
    return info.value


short_timeout = override_settings(OUTBOUND_HTTP_TIMEOUT=0.5)
