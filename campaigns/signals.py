"""Signals the campaigns services send. Definitions only (no receivers, no imports of
our own modules), so any app can listen without an import cycle.

* `publications_due(publication_ids)`: rows were claimed (queued) and must be handed to
  workers. Sent after commit by the dispatcher and the sweeper; `campaigns.tasks`
  listens and enqueues one publish task per id. This keeps the services free of Celery,
  the same hand-off the e-mail fan-out uses (`channels.email.services.email_send_started`).
* `publication_published(publication, published_at)`: the publish pipeline recorded a
  post as published (sent inside its transaction). Channel features that follow up on
  a post (e.g. `channels.verification`, the feed check) listen, so the publish service
  never names them. Receivers must not raise and must wrap their writes in a savepoint:
  a follow-up problem must never undo the record of a post that is live.
* `campaign_paused(campaign)`, `campaign_resumed(campaign)`, `campaign_cancelled(campaign)`:
  sent after commit when a person pauses, resumes or cancels a whole campaign. Channels
  whose publications keep running after they are "published" (the email fan-out)
  listen and pause, resume or cancel their running sends before the next batch.
"""

import django.dispatch

publications_due = django.dispatch.Signal()
publication_published = django.dispatch.Signal()
campaign_paused = django.dispatch.Signal()
campaign_resumed = django.dispatch.Signal()
campaign_cancelled = django.dispatch.Signal()
