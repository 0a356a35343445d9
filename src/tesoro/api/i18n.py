"""English and Spanish for the web UI: message catalogues, language choice, locale formatting.

The catalogue is a plain dict (no compiled .mo files to build or ship) because
the UI has a few hundred words; the browser's scripts get the same catalogue as
JSON, so server-rendered and script-rendered text always agree. Numbers and
dates are formatted with Babel's CLDR data on the server and `Intl` in the
browser, so "12.345" and "12,345" follow the reader's locale either way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from datetime import UTC

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

__all__ = ["LANGUAGES", "MESSAGES", "Translator", "negotiate"]

# Shown for a missing number or date (an en dash, as typesetting has it).
MISSING = "\u2013"

LANGUAGES = ("en", "es")

MESSAGES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "app.tagline": "Social listening and UGC curation",
        "nav.queue": "Queue",
        "nav.library": "Library",
        "nav.dashboard": "Dashboard",
        "nav.sources": "Sources",
        "nav.docs": "API",
        "nav.logout": "Sign out",
        "nav.signed_in": "Signed in as {name} ({role})",
        "nav.language": "Language",
        "login.title": "Sign in",
        "login.key": "API key",
        "login.submit": "Sign in",
        "login.hint": "Ask an admin for a key: tesoro keys create --role coordinator --name YOUR-NAME",
        "login.bad_key": "That key is unknown or revoked.",
        "login.bad_role": "A gallery key cannot use the web UI.",
        "login.bad_csrf": "The form expired; please try again.",
        "login.too_many": "Too many failed sign-in attempts. Try again in {minutes} min.",
        "common.loading": "Loading…",
        "common.load_failed": "Could not be loaded",
        "common.no_data": "No data yet",
        "common.error": "Something went wrong: {error}",
        "common.none": "none",
        "common.previous": "Previous",
        "common.next": "Next",
        "common.open_post": "Open the post",
        "common.posts": "posts",
        "state.new": "New",
        "state.approved": "Approved",
        "state.rejected": "Rejected",
        "state.featured": "Featured",
        "state.archived": "Archived",
        "state.all": "All",
        "rights.none": "No rights",
        "rights.requested": "Rights requested",
        "rights.granted": "Rights granted",
        "rights.declined": "Rights declined",
        "rights.expired": "Rights expired",
        "queue.title": "Review queue",
        "queue.keys": "j / k move · a approve · r reject · f feature · p assign product · u undo",
        "queue.empty": "Nothing to review here.",
        "queue.read_only": "Read-only: your role cannot change the queue.",
        "queue.approve": "Approve",
        "queue.reject": "Reject",
        "queue.feature": "Feature",
        "queue.product": "Product",
        "queue.rights": "Usage rights",
        "queue.pick_product": "Assign a product",
        "queue.no_product": "No product",
        "queue.save": "Save",
        "queue.cancel": "Cancel",
        "queue.why": "Why it ranks here",
        "queue.not_scored": "Not scored yet",
        "queue.duplicates": "Also posted as",
        "queue.treasure": "Treasure score",
        "queue.media_blocked": "Media on an unlisted host, not shown",
        "queue.done.approve": "Approved",
        "queue.done.reject": "Rejected",
        "queue.done.feature": "Featured",
        "queue.done.product": "Product saved",
        "queue.done.rights": "Rights saved",
        "queue.state_filter": "Show",
        "queue.count": "{count} posts",
        "queue.undo_hint": "Press u to undo your last decision.",
        "queue.done.undo": "Undone",
        "queue.nothing_to_undo": "Nothing to undo",
        "queue.copies": "{count} copies",
        "queue.filtered": "Filtered out",
        "queue.changed": "Changed after approval (v{approved} to v{version}); the gallery shows v{approved}",
        "queue.changed_media": "Media added: {added}, removed: {removed}",
        "queue.view_filtered": "Filtered out",
        "queue.learned": "Learned ranker",
        "queue.suggested": "suggested",
        "explain.relationship": "Author relationship",
        "explain.recency": "Recency",
        "facet.brand": "Brand",
        "facet.product_line": "Product line",
        "facet.content_type": "Content type",
        "facet.language": "Language",
        "facet.sentiment": "Sentiment",
        "explain.relevance": "Relevance",
        "explain.sentiment": "Sentiment",
        "explain.content": "Content",
        "explain.media": "Media",
        "explain.engagement": "Engagement vs. median",
        "explain.safety": "Safety flag",
        "explain.spam": "Spam",
        "library.title": "Library",
        "library.search": "Search posts",
        "library.submit": "Search",
        "library.results": "{count} posts",
        "library.no_results": "No posts match.",
        "library.clear": "Clear filters",
        "facet.platform": "Platform",
        "facet.state": "State",
        "facet.rights": "Rights",
        "facet.lang": "Language",
        "facet.product": "Product",
        "author.followers": "Followers",
        "author.following": "Following",
        "author.posts": "Posts",
        "author.approved": "Approved or featured",
        "author.first_seen": "First seen",
        "author.linked": "Same person on",
        "author.activity": "Posts per month",
        "author.ror": "Return on Relationship",
        "author.recent": "Recent posts",
        "author.profile": "Profile",
        "author.logged": "Logged by hand",
        "author.logged_help": (
            "What Tesoro cannot see (a purchase, a meet-up, a gift) counts in the ROR with its weight."
        ),
        "author.logged_none": "Nothing logged yet.",
        "author.kind": "Kind",
        "author.weight": "Weight",
        "author.when": "Date",
        "author.note": "Note",
        "author.log": "Log it",
        "author.logged_ok": "Logged.",
        "author.unlog": "Remove",
        "author.unlogged_ok": "Removed.",
        "dashboard.title": "Dashboard",
        "dashboard.total": "Posts",
        "dashboard.authors": "Authors",
        "dashboard.in_queue": "Waiting for review",
        "dashboard.approved": "Approved",
        "dashboard.featured": "Featured",
        "dashboard.granted": "Rights granted",
        "dashboard.daily": "Posts per day, last 30 days",
        "dashboard.by_state": "Posts by review state",
        "dashboard.by_platform": "Posts by platform",
        "dashboard.kpis": "KPIs",
        "dashboard.advocates": "Top advocates",
        "dashboard.chart_volume": "Mentions over time, by sentiment",
        "dashboard.chart_sentiment": "Net sentiment",
        "dashboard.chart_share_of_voice": "Share of voice",
        "sources.title": "Source health",
        "sources.name": "Source",
        "sources.platform": "Platform",
        "sources.health": "Health",
        "sources.posts": "Posts",
        "sources.last_success": "Last success",
        "sources.last_run": "Last run",
        "sources.failures": "Failures in a row",
        "sources.last_error": "Last error",
        "sources.disabled": "disabled",
        "sources.empty": "No sources are configured.",
        "health.ok": "OK",
        "health.degraded": "Degraded",
        "health.failing": "Failing",
        "health.unknown": "Not run yet",
        "docs.title": "API reference",
        "docs.intro": "Send a key as Authorization: Bearer KEY or X-API-Key: KEY. The machine-readable "
        "description is /openapi.json.",
        "docs.method": "Method",
        "docs.path": "Path",
        "docs.summary": "What it does",
        "docs.roles": "Roles",
        "docs.public": "public",
        "docs.request": "Request body",
        "docs.response": "Response",
        "docs.example": "example",
        "error.title": "Error",
        "error.forbidden": "Your key's role cannot open this page.",
        "error.not_found": "Not found.",
    },
    "es": {
        "app.tagline": "Escucha social y curaduría de contenido de usuarios",
        "nav.queue": "Cola",
        "nav.library": "Biblioteca",
        "nav.dashboard": "Panel",
        "nav.sources": "Fuentes",
        "nav.docs": "API",
        "nav.logout": "Salir",
        "nav.signed_in": "Sesión de {name} ({role})",
        "nav.language": "Idioma",
        "login.title": "Iniciar sesión",
        "login.key": "Clave de API",
        "login.submit": "Entrar",
        "login.hint": "Pide una clave a un administrador: "
        "tesoro keys create --role coordinator --name TU-NOMBRE",
        "login.bad_key": "Esa clave no existe o fue revocada.",
        "login.bad_role": "Una clave de galería no puede usar la interfaz web.",
        "login.bad_csrf": "El formulario caducó; inténtalo de nuevo.",
        "login.too_many": (
            "Demasiados intentos fallidos de inicio de sesión. Inténtalo de nuevo en {minutes} min."
        ),
        "common.loading": "Cargando…",
        "common.load_failed": "No se pudo cargar",
        "common.no_data": "Aún no hay datos",
        "common.error": "Algo salió mal: {error}",
        "common.none": "ninguno",
        "common.previous": "Anterior",
        "common.next": "Siguiente",
        "common.open_post": "Abrir la publicación",
        "common.posts": "publicaciones",
        "state.new": "Nueva",
        "state.approved": "Aprobada",
        "state.rejected": "Rechazada",
        "state.featured": "Destacada",
        "state.archived": "Archivada",
        "state.all": "Todas",
        "rights.none": "Sin derechos",
        "rights.requested": "Derechos solicitados",
        "rights.granted": "Derechos concedidos",
        "rights.declined": "Derechos denegados",
        "rights.expired": "Derechos vencidos",
        "queue.title": "Cola de revisión",
        "queue.keys": "j / k moverse · a aprobar · r rechazar · f destacar · p asignar producto · u deshacer",
        "queue.empty": "No hay nada que revisar aquí.",
        "queue.read_only": "Solo lectura: tu rol no puede cambiar la cola.",
        "queue.approve": "Aprobar",
        "queue.reject": "Rechazar",
        "queue.feature": "Destacar",
        "queue.product": "Producto",
        "queue.rights": "Derechos de uso",
        "queue.pick_product": "Asignar un producto",
        "queue.no_product": "Sin producto",
        "queue.save": "Guardar",
        "queue.cancel": "Cancelar",
        "queue.why": "Por qué está en este puesto",
        "queue.not_scored": "Aún sin puntuar",
        "queue.duplicates": "También publicado como",
        "queue.treasure": "Puntuación de tesoro",
        "queue.media_blocked": "Contenido multimedia de un dominio no permitido, no se muestra",
        "queue.done.approve": "Aprobada",
        "queue.done.reject": "Rechazada",
        "queue.done.feature": "Destacada",
        "queue.done.product": "Producto guardado",
        "queue.done.rights": "Derechos guardados",
        "queue.state_filter": "Mostrar",
        "queue.count": "{count} publicaciones",
        "queue.undo_hint": "Pulsa u para deshacer tu última decisión.",
        "queue.done.undo": "Deshecho",
        "queue.nothing_to_undo": "No hay nada que deshacer",
        "queue.copies": "{count} copias",
        "queue.filtered": "Filtrada",
        "queue.changed": "Cambió tras aprobarse (v{approved} a v{version}); la galería muestra v{approved}",
        "queue.changed_media": "Medios añadidos: {added}, quitados: {removed}",
        "queue.view_filtered": "Filtradas",
        "queue.learned": "Clasificador aprendido",
        "queue.suggested": "sugerido",
        "explain.relationship": "Relación con el autor",
        "explain.recency": "Actualidad",
        "facet.brand": "Marca",
        "facet.product_line": "Línea de producto",
        "facet.content_type": "Tipo de contenido",
        "facet.language": "Idioma",
        "facet.sentiment": "Sentimiento",
        "explain.relevance": "Relevancia",
        "explain.sentiment": "Sentimiento",
        "explain.content": "Contenido",
        "explain.media": "Multimedia",
        "explain.engagement": "Interacción frente a la mediana",
        "explain.safety": "Alerta de seguridad",
        "explain.spam": "Spam",
        "library.title": "Biblioteca",
        "library.search": "Buscar publicaciones",
        "library.submit": "Buscar",
        "library.results": "{count} publicaciones",
        "library.no_results": "Ninguna publicación coincide.",
        "library.clear": "Quitar filtros",
        "facet.platform": "Plataforma",
        "facet.state": "Estado",
        "facet.rights": "Derechos",
        "facet.lang": "Idioma",
        "facet.product": "Producto",
        "author.followers": "Seguidores",
        "author.following": "Siguiendo",
        "author.posts": "Publicaciones",
        "author.approved": "Aprobadas o destacadas",
        "author.first_seen": "Visto por primera vez",
        "author.linked": "La misma persona en",
        "author.activity": "Publicaciones por mes",
        "author.ror": "Retorno de la relación (ROR)",
        "author.recent": "Publicaciones recientes",
        "author.profile": "Perfil",
        "author.logged": "Registrado a mano",
        "author.logged_help": (
            "Lo que Tesoro no ve (una compra, un encuentro, un regalo) suma al ROR con su peso."
        ),
        "author.logged_none": "Todavía no hay nada registrado.",
        "author.kind": "Tipo",
        "author.weight": "Peso",
        "author.when": "Fecha",
        "author.note": "Nota",
        "author.log": "Registrar",
        "author.logged_ok": "Registrado.",
        "author.unlog": "Quitar",
        "author.unlogged_ok": "Quitado.",
        "dashboard.title": "Panel",
        "dashboard.total": "Publicaciones",
        "dashboard.authors": "Autores",
        "dashboard.in_queue": "Pendientes de revisión",
        "dashboard.approved": "Aprobadas",
        "dashboard.featured": "Destacadas",
        "dashboard.granted": "Derechos concedidos",
        "dashboard.daily": "Publicaciones por día, últimos 30 días",
        "dashboard.by_state": "Publicaciones por estado de revisión",
        "dashboard.by_platform": "Publicaciones por plataforma",
        "dashboard.kpis": "Indicadores",
        "dashboard.advocates": "Principales defensores",
        "dashboard.chart_volume": "Menciones en el tiempo, por sentimiento",
        "dashboard.chart_sentiment": "Sentimiento neto",
        "dashboard.chart_share_of_voice": "Cuota de voz",
        "sources.title": "Estado de las fuentes",
        "sources.name": "Fuente",
        "sources.platform": "Plataforma",
        "sources.health": "Estado",
        "sources.posts": "Publicaciones",
        "sources.last_success": "Último éxito",
        "sources.last_run": "Última ejecución",
        "sources.failures": "Fallos seguidos",
        "sources.last_error": "Último error",
        "sources.disabled": "desactivada",
        "sources.empty": "No hay fuentes configuradas.",
        "health.ok": "Correcta",
        "health.degraded": "Degradada",
        "health.failing": "Fallando",
        "health.unknown": "Aún sin ejecutar",
        "docs.title": "Referencia de la API",
        "docs.intro": "Envía una clave como Authorization: Bearer CLAVE o X-API-Key: CLAVE. La descripción "
        "para máquinas está en /openapi.json.",
        "docs.method": "Método",
        "docs.path": "Ruta",
        "docs.summary": "Qué hace",
        "docs.roles": "Roles",
        "docs.public": "pública",
        "docs.request": "Cuerpo de la petición",
        "docs.response": "Respuesta",
        "docs.example": "ejemplo",
        "error.title": "Error",
        "error.forbidden": "El rol de tu clave no puede abrir esta página.",
        "error.not_found": "No encontrado.",
    },
}


def negotiate(*, accept_language: str | None, setting: str = "auto", override: str | None = None) -> str:
    """The UI language: an explicit choice (cookie/?lang=), else the setting, else the browser's."""
    if override in LANGUAGES:
        return str(override)
    if setting in LANGUAGES:
        return setting
    best, best_q = "en", -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best


class Translator:
    """Messages and number/date formats for one language, as the templates use them."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "en"
        self.messages = MESSAGES[self.lang]

    def __call__(self, key: str, **values: object) -> str:
        text = self.messages.get(key) or MESSAGES["en"].get(key) or key
        return text.format(**values) if values else text

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return MISSING
        fmt = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=fmt, locale=self.lang)

    def datetime(self, value: dt.datetime | None) -> str:
        if value is None:
            return MISSING
        return format_datetime(value, format="medium", tzinfo=UTC, locale=self.lang) + " UTC"

    def date(self, value: dt.datetime | None) -> str:
        if value is None:
            return MISSING
        return format_date(value, format="medium", locale=self.lang)
