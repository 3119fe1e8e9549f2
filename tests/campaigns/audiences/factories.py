"""Audience factories and helpers shared by the audience, email and e-zine tests."""

import factory
from django.utils import timezone

from campaigns.audiences.models import MailingList, Subscriber, Subscription


class MailingListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MailingList

    name = factory.Sequence(lambda n: f"List {n}")
    slug = factory.Sequence(lambda n: f"list-{n}")
    consent_text = "Yes, send me the newsletter. I can unsubscribe at any time."


class SubscriberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscriber

    email = factory.Sequence(lambda n: f"reader{n}@example.net")
    name = factory.Sequence(lambda n: f"Reader {n}")


def subscribe_many(mailing_list, count: int, prefix: str = "reader") -> list[Subscriber]:
    """`count` confirmed subscribers of `mailing_list`, created in bulk."""
    subscribers = Subscriber.objects.bulk_create(
        [Subscriber(email=f"{prefix}{i}@example.net", name=f"Reader {i}") for i in range(count)]
    )
    subscribers = list(Subscriber.objects.filter(email__startswith=prefix).order_by("pk"))
    now = timezone.now()
    Subscription.objects.bulk_create(
        [
            Subscription(
                subscriber=s,
                mailing_list=mailing_list,
                status=Subscription.Status.SUBSCRIBED,
                consent_at=now,
                consent_method=Subscription.Method.IMPORT,
                consent_basis="test fixture",
                confirmed_at=now,
            )
            for s in subscribers
        ]
    )
    return subscribers
