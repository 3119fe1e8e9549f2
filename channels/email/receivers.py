"""The email fan-out follows its campaign: pausing, resuming or cancelling a campaign
pauses, resumes or cancels its running email and e-zine sends before their next batch
(`campaigns.signals`). Connected in the app's ready()."""

from django.dispatch import receiver

from campaigns.signals import campaign_cancelled, campaign_paused, campaign_resumed

from .control import cancel_campaign_sends, pause_campaign_sends, resume_campaign_sends


@receiver(campaign_paused, dispatch_uid="email-pause-with-campaign")
def pause_with_campaign(sender, campaign, **kwargs):
    pause_campaign_sends(campaign)


@receiver(campaign_resumed, dispatch_uid="email-resume-with-campaign")
def resume_with_campaign(sender, campaign, **kwargs):
    resume_campaign_sends(campaign)


@receiver(campaign_cancelled, dispatch_uid="email-cancel-with-campaign")
def cancel_with_campaign(sender, campaign, **kwargs):
    cancel_campaign_sends(campaign)
