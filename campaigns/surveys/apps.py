from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "campaigns.surveys"
    label = "surveys"
    verbose_name = _("Surveys")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from analytics.click_carry import carry_message_to
        from campaigns.audiences.segments import register_field
        from campaigns.chooser import register_publishable
        from campaigns.people.registry import register

        from .models import NpsSurveyPage, ServqualSurveyPage
        from .person_data import SurveyData
        from .segment import survey_field

        register_publishable(NpsSurveyPage, ServqualSurveyPage)
        register_field(survey_field())
        register(SurveyData())
        carry_message_to("/surveys/")
