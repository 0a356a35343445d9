"""Typed settings: one TOML file plus `TESORO_*` environment variables.

Everything configurable lives here and is passed down explicitly; no other module
reads `os.environ`. A bad file fails at start-up with the file, the key and the
reason (`ConfigError`), never later in the middle of a collection.

Secrets are never written in the file: a key ending in `_env` names the
environment variable that holds the secret (`bearer_token_env = "X_BEARER_TOKEN"`).

One module per domain holds its sections (`service`, `gallery`, `catalog`, `alerts`, `curator`,
`insights`); `root` joins them into `Settings` and `loader` reads the file. Import the names
from `tesoro.settings` itself: the split is for reading, not part of the interface.
Settings sit below the store and the features, so they import only `tesoro.text` (to parse
listening queries at load time) and `tesoro.models`.
"""

from tesoro.settings.alerts import AlertKind, AlertRuleSettings, SlackSettings
from tesoro.settings.base import ConfigError, parse_interval
from tesoro.settings.catalog import (
    BrandSettings,
    PlatformName,
    ProductSettings,
    QuerySettings,
    SourceSettings,
)
from tesoro.settings.curator import DEFAULT_CONTENT_VALUES, CuratorSettings, TreasureWeights
from tesoro.settings.gallery import DEFAULT_MEDIA_HOSTS, GallerySettings
from tesoro.settings.insights import RelationshipSettings, RoeEffort, RoeSettings, RorEventValues
from tesoro.settings.loader import load_settings
from tesoro.settings.media import MediaSettings
from tesoro.settings.ops import OpsSettings
from tesoro.settings.quota import PLATFORM_BUDGETS, Budget, QuotaSettings, QuotaWindow
from tesoro.settings.rights import RIGHTS_SCOPES, RightsScope, RightsSettings
from tesoro.settings.root import Settings
from tesoro.settings.search import SearchSettings
from tesoro.settings.secrets import DEFAULT_ALERT_ENV_ALLOW, SecretsSettings
from tesoro.settings.service import (
    ApiSettings,
    DatabaseSettings,
    JobTimeouts,
    ModelSettings,
    QueueSettings,
    ServerSettings,
)
from tesoro.settings.webhooks import MetaWebhookSettings, TikTokWebhookSettings

__all__ = [
    "DEFAULT_ALERT_ENV_ALLOW",
    "DEFAULT_CONTENT_VALUES",
    "DEFAULT_MEDIA_HOSTS",
    "PLATFORM_BUDGETS",
    "RIGHTS_SCOPES",
    "AlertKind",
    "AlertRuleSettings",
    "ApiSettings",
    "BrandSettings",
    "Budget",
    "ConfigError",
    "CuratorSettings",
    "DatabaseSettings",
    "GallerySettings",
    "JobTimeouts",
    "MediaSettings",
    "MetaWebhookSettings",
    "ModelSettings",
    "OpsSettings",
    "PlatformName",
    "ProductSettings",
    "QuerySettings",
    "QueueSettings",
    "QuotaSettings",
    "QuotaWindow",
    "RelationshipSettings",
    "RightsScope",
    "RightsSettings",
    "RoeEffort",
    "RoeSettings",
    "RorEventValues",
    "SearchSettings",
    "SecretsSettings",
    "ServerSettings",
    "Settings",
    "SlackSettings",
    "SourceSettings",
    "TikTokWebhookSettings",
    "TreasureWeights",
    "load_settings",
    "parse_interval",
]
