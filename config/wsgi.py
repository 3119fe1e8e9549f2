import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
application = get_wsgi_application()
# What start-up built (models, URL patterns, Wagtail's registries, the imported modules)
# lives as long as the process. Frozen, a full garbage collection no longer walks it:
# unfrozen, about one admin page in thirty took 140 ms longer for the collection
# (bench/RESULTS.md, audiences).
gc.freeze()
