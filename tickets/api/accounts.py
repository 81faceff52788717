"""/api/v1/channel-accounts/: the brand's accounts on each platform, with their webhook URLs.

Secrets are write-only: a response says which are set, never what they are. Creating or changing an account
that can send asks the platform whether its credentials work first, as the admin does.
"""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from tickets.api.permissions import ModelActionPermission
from tickets.api.schema import ERRORS
from tickets.models import ChannelAccount, Team
from tickets.selectors import visible_team_ids
from tickets.services.accounts import (
    SECRET_FIELDS,
    channel_account_create,
    channel_account_delete,
    channel_account_update,
)


class ChannelAccountSerializer(serializers.ModelSerializer[ChannelAccount]):
    webhook_url = serializers.SerializerMethodField(help_text="Paste this into the platform's webhook settings.")
    secrets_set = serializers.SerializerMethodField(help_text="Which secrets are stored (never their values).")
    sending_blocked_because = serializers.SerializerMethodField(
        help_text="Why replies on this account cannot be sent; empty when they can."
    )

    class Meta:
        model = ChannelAccount
        fields = [
            "id",
            "name",
            "kind",
            "team",
            "enabled",
            "webhook_url",
            "secret",
            "verify_token",
            "access_token",
            "encoding_aes_key",
            "secrets_set",
            "platform_account_id",
            "platform_address",
            "api_base_url",
            "callback_url",
            "sending_blocked_because",
            "created_at",
        ]
        extra_kwargs = {
            **{name: {"write_only": True, "required": False, "allow_blank": True} for name in SECRET_FIELDS},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        # Nobody puts an account in a team they cannot see: another team's id is "no such team".
        team_ids = visible_team_ids(request.user) if request is not None else []
        self.fields["team"].queryset = Team.objects.filter(id__in=team_ids)

    def get_webhook_url(self, account: ChannelAccount) -> str:
        return account.webhook_url()

    def get_secrets_set(self, account: ChannelAccount) -> dict[str, bool]:
        return {name: bool(getattr(account, name)) for name in SECRET_FIELDS}

    def get_sending_blocked_because(self, account: ChannelAccount) -> str:
        return account.reply_blocker()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and not attrs.get("secret"):
            raise serializers.ValidationError({"secret": ["Every account needs the secret that verifies deliveries."]})
        return attrs


class ChannelAccountWritten(ChannelAccountSerializer):
    platform_says = serializers.CharField(
        read_only=True, help_text="What the platform calls the account when it accepted the credentials, or empty."
    )

    class Meta(ChannelAccountSerializer.Meta):
        fields = [*ChannelAccountSerializer.Meta.fields, "platform_says"]


@extend_schema_view(
    list=extend_schema(responses={200: ChannelAccountSerializer, **ERRORS}),
    retrieve=extend_schema(responses={200: ChannelAccountSerializer, **ERRORS}),
    create=extend_schema(request=ChannelAccountSerializer, responses={201: ChannelAccountWritten, **ERRORS}),
    partial_update=extend_schema(request=ChannelAccountSerializer, responses={200: ChannelAccountWritten, **ERRORS}),
    destroy=extend_schema(responses={204: None, **ERRORS}),
)
class ChannelAccountViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[ChannelAccount],
):
    """The channel accounts of the teams the caller sees."""

    serializer_class = ChannelAccountSerializer
    permission_classes = [ModelActionPermission]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[ChannelAccount]:
        return ChannelAccount.objects.filter(team_id__in=visible_team_ids(self.request.user)).order_by("id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account, said = channel_account_create(**serializer.validated_data)
        return Response(self._written(account, said), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        account = self.get_object()
        serializer = self.get_serializer(account, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        account, said = channel_account_update(account, **serializer.validated_data)
        return Response(self._written(account, said))

    def perform_destroy(self, instance: ChannelAccount) -> None:
        channel_account_delete(instance)

    def _written(self, account: ChannelAccount, said: str) -> dict[str, Any]:
        return {**ChannelAccountSerializer(account, context=self.get_serializer_context()).data, "platform_says": said}
