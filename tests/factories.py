"""factory_boy factories for the domain models."""

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from guardian.shortcuts import assign_perm

from tickets.models import (
    ChannelAccount,
    ChannelKind,
    Contact,
    ContactIdentity,
    DeliveryStatus,
    Direction,
    Message,
    Team,
    Ticket,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")
    # Hashing a real password costs ~0.5 s; tests that sign in set one explicitly.
    password = factory.PostGenerationMethodCall("set_unusable_password")

    @factory.post_generation
    def teams(self, create: bool, extracted: list[Team] | None, **kwargs: object) -> None:
        for team in extracted or []:
            assign_perm("view_team", self, team)
        if create:
            self.save()


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class ChannelAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChannelAccount

    name = factory.Sequence(lambda n: f"Account {n}")
    kind = ChannelKind.API
    team = factory.SubFactory(TeamFactory)
    secret = factory.Sequence(lambda n: f"secret-{n}")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    display_name = factory.Sequence(lambda n: f"Customer {n}")


class ContactIdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactIdentity

    contact = factory.SubFactory(ContactFactory)
    channel_account = factory.SubFactory(ChannelAccountFactory)
    external_id = factory.Sequence(lambda n: f"user-{n}")
    display_name = factory.SelfAttribute("contact.display_name")


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    number = factory.Sequence(lambda n: 100_000 + n)
    subject = "Where is my order?"
    team = factory.SubFactory(TeamFactory)
    identity = factory.SubFactory(
        ContactIdentityFactory,
        channel_account=factory.SubFactory(ChannelAccountFactory, team=factory.SelfAttribute("...team")),
    )
    contact = factory.SelfAttribute("identity.contact")
    last_activity_at = factory.LazyFunction(timezone.now)
    preview = "Where is my order?"


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    ticket = factory.SubFactory(TicketFactory)
    channel_account = factory.SelfAttribute("ticket.identity.channel_account")
    direction = Direction.IN
    text = "Hello, I need help."
    external_id = factory.Sequence(lambda n: f"msg-{n}")
    sent_at = factory.LazyFunction(timezone.now)
    delivery_status = DeliveryStatus.RECEIVED
