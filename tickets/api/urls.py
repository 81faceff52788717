"""The routes of /api/v1/."""

from rest_framework.routers import SimpleRouter

from tickets.api.accounts import ChannelAccountViewSet

router = SimpleRouter()
router.register("channel-accounts", ChannelAccountViewSet, basename="channel-account")

urlpatterns = router.urls
