"""What the OpenAPI schema says of the API's errors: one JSON shape for every 4xx."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ERROR = inline_serializer(
    name="Error",
    fields={
        "error": serializers.CharField(help_text="A code: invalid, not_found, permission_denied, ..."),
        "message": serializers.CharField(help_text="What is wrong, in words a person can act on."),
        "fields": serializers.DictField(required=False, help_text="Per field, what is wrong with it."),
    },
)

ERRORS = {
    400: OpenApiResponse(ERROR, description="The request is not valid; `fields` says where."),
    401: OpenApiResponse(ERROR, description="No valid token or session."),
    403: OpenApiResponse(ERROR, description="Seen, but not yours to change."),
    404: OpenApiResponse(ERROR, description="No such resource, or not yours to see."),
    409: OpenApiResponse(ERROR, description="It conflicts with what is stored."),
}
