"""Social-platform connectors: one module per platform, each pure (no models, no database).

A connector answers its platform's handshake, verifies a delivery's signature, parses a raw delivery into
normalized inbound messages, and sends a reply. `connector_for(kind)` returns the module for a channel kind.
"""

from types import ModuleType

from tickets.connectors import api, instagram, line, messenger, telegram, twilio, wechat, whatsapp, x
from tickets.connectors.base import ConnectorNotFound

_BY_KIND: dict[str, ModuleType] = {
    "api": api,
    "messenger": messenger,
    "instagram": instagram,
    "whatsapp": whatsapp,
    "telegram": telegram,
    "x": x,
    "line": line,
    "sms": twilio,
    "wechat": wechat,
}


def connector_for(kind: str) -> ModuleType:
    """The connector module for channel kind `kind`."""
    try:
        return _BY_KIND[kind]
    except KeyError:
        raise ConnectorNotFound(f"no connector for channel kind {kind!r} yet") from None
