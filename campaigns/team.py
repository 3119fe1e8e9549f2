"""The team's default time zone (Settings > Team settings): read by the forms for new
publications, and given to every new user whose profile names no zone yet."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_save
from django.dispatch import receiver
from wagtail.users.models import UserProfile

from .models import TeamSettings


def team_time_zone() -> str:
    """The team's zone, or settings.TIME_ZONE before anyone saved Team settings."""
    return TeamSettings.load().time_zone or settings.TIME_ZONE


@receiver(post_save, sender=get_user_model(), dispatch_uid="campaigns.team.new_user_zone")
def give_new_user_the_team_zone(sender, instance, created, raw=False, **kwargs):
    # Wagtail reads the admin's zone from the profile; an empty one means
    # settings.TIME_ZONE, which is not what a team in Shanghai set up.
    if not created or raw:
        return
    profile = UserProfile.get_for_user(instance)
    if not profile.current_time_zone:
        profile.current_time_zone = team_time_zone()
        profile.save(update_fields=["current_time_zone"])
