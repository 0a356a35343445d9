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

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

__all__ = ["LANGUAGES", "MESSAGES", "Translator", "counted", "negotiate", "plural_category"]

# Shown for a missing number or date (an en dash, as typesetting has it).
MISSING = "\u2013"

LANGUAGES = ("en", "es")

# CLDR's plural rules, as Babel has them: English "one"/"other"; Spanish adds "many" for whole
# millions ("1.000.000 de publicaciones"). A counted message is stored once per category as
# KEY.one, KEY.many, KEY.other; a missing category falls back to KEY.other. The browser picks the
# category with Intl.PluralRules (app.js `tn`), from the same CLDR rules.
_PLURAL_RULES = {lang: Locale.parse(lang).plural_form for lang in LANGUAGES}


def plural_category(lang: str, count: float) -> str:
    """The CLDR plural category of `count` in `lang`: "one", "many" or "other"."""
    rule = _PLURAL_RULES.get(lang, _PLURAL_RULES["en"])
    return str(rule(abs(count)))


def counted(count: int, one: str, other: str) -> str:
    """An English count with its noun, for the CLI's lines: "1 post", "2 posts", "1,234 posts"."""
    noun = one if plural_category("en", count) == "one" else other
    return f"{format_decimal(count, format='#,##0', locale='en')} {noun}"


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
        "rights.revoked": "Rights revoked",
        "rights.request": "Ask for rights",
        "rights.requested_n.one": "Rights requested for {count} post",
        "rights.requested_n.other": "Rights requested for {count} posts",
        "consent.title": "Permission to share your post",
        "consent.intro": "{brand} would like to share your post below.",
        "consent.scope": "Where",
        "consent.duration": "For how long",
        "consent.days.one": "{count} day",
        "consent.days.other": "{count} days",
        "consent.no_end": "No end date (you can withdraw at any time)",
        "consent.terms": "Terms (version {version})",
        "consent.scope.organic_social": "The brand's social media accounts",
        "consent.scope.website_gallery": "The gallery on the brand's website",
        "consent.scope.paid_ads": "Paid advertising",
        "consent.scope.product_pages": "Product pages of the brand's shop",
        "consent.future": "Also for my future posts about {brand}",
        "consent.approve": "Yes, I agree",
        "consent.decline": "No, thanks",
        "consent.open_post": "See the post",
        "consent.no_account": "No account needed. Your answer is recorded with the time.",
        "consent.done_approve": "Thank you! Your permission is recorded. You can withdraw it at any time.",
        "consent.done_decline": "Thank you for answering. The brand will not use your post.",
        "consent.forged": "This link is not valid.",
        "consent.expired": "This link has expired. Ask the brand for a new one.",
        "consent.used": "This link was used already: your answer is recorded.",
        "consent.closed": "This request is closed already.",
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
        "queue.count.one": "{count} post",
        "queue.count.other": "{count} posts",
        "queue.undo_hint": "Press u to undo your last decision.",
        "queue.done.undo": "Undone",
        "queue.nothing_to_undo": "Nothing to undo",
        "queue.copies.one": "{count} copy",
        "queue.copies.other": "{count} copies",
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
        "library.results.one": "{count} post",
        "library.results.other": "{count} posts",
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
        "sources.quota": "Quota used / left",
        "sources.resets": "Resets at",
        "sources.forecast": "Forecast",
        "sources.next_run": "Next run",
        "sources.not_metered": "not metered",
        "sources.runs_out": "At this rate it runs out at {at}",
        "sources.lasts": "At this rate it lasts until the reset",
        "sources.unmeasured": "No run measured yet",
        "sources.plan.as_configured": "every {interval} as configured",
        "sources.plan.stretched": "stretched from {interval} to {planned} to stay within the budget",
        "sources.plan.waiting_for_reset": "budget spent: waits for the reset",
        "sources.plan.unmeasured": "every {interval} as configured",
        "sources.coverage_lost": "coverage lost",
        "sources.slots_expiring.one": "{count} expires at {at}",
        "sources.slots_expiring.other": "{count} expire at {at}",
        "sources.token_expires": "Token expires at {at}",
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
        "rights.revoked": "Derechos revocados",
        "rights.request": "Pedir derechos",
        "rights.requested_n.one": "Derechos pedidos para {count} publicación",
        "rights.requested_n.many": "Derechos pedidos para {count} de publicaciones",
        "rights.requested_n.other": "Derechos pedidos para {count} publicaciones",
        "consent.title": "Permiso para compartir tu publicación",
        "consent.intro": "A {brand} le gustaría compartir tu publicación.",
        "consent.scope": "Dónde",
        "consent.duration": "Por cuánto tiempo",
        "consent.days.one": "{count} día",
        "consent.days.many": "{count} de días",
        "consent.days.other": "{count} días",
        "consent.no_end": "Sin fecha de fin (puedes retirarlo cuando quieras)",
        "consent.terms": "Términos (versión {version})",
        "consent.scope.organic_social": "Las redes sociales de la marca",
        "consent.scope.website_gallery": "La galería de la web de la marca",
        "consent.scope.paid_ads": "Publicidad pagada",
        "consent.scope.product_pages": "Páginas de producto de la tienda de la marca",
        "consent.future": "También para mis futuras publicaciones sobre {brand}",
        "consent.approve": "Sí, acepto",
        "consent.decline": "No, gracias",
        "consent.open_post": "Ver la publicación",
        "consent.no_account": "No necesitas cuenta. Tu respuesta queda registrada con la hora.",
        "consent.done_approve": "¡Gracias! Tu permiso quedó registrado. Puedes retirarlo cuando quieras.",
        "consent.done_decline": "Gracias por responder. La marca no usará tu publicación.",
        "consent.forged": "Este enlace no es válido.",
        "consent.expired": "Este enlace venció. Pide uno nuevo a la marca.",
        "consent.used": "Este enlace ya se usó: tu respuesta quedó registrada.",
        "consent.closed": "Esta solicitud ya está cerrada.",
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
        "queue.count.one": "{count} publicación",
        "queue.count.many": "{count} de publicaciones",
        "queue.count.other": "{count} publicaciones",
        "queue.undo_hint": "Pulsa u para deshacer tu última decisión.",
        "queue.done.undo": "Deshecho",
        "queue.nothing_to_undo": "No hay nada que deshacer",
        "queue.copies.one": "{count} copia",
        "queue.copies.many": "{count} de copias",
        "queue.copies.other": "{count} copias",
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
        "library.results.one": "{count} publicación",
        "library.results.many": "{count} de publicaciones",
        "library.results.other": "{count} publicaciones",
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
        "sources.quota": "Cuota usada / restante",
        "sources.resets": "Se renueva",
        "sources.forecast": "Previsión",
        "sources.next_run": "Próxima ejecución",
        "sources.not_metered": "sin cuota",
        "sources.runs_out": "A este ritmo se agota el {at}",
        "sources.lasts": "A este ritmo alcanza hasta la renovación",
        "sources.unmeasured": "Aún no se ha medido ninguna ejecución",
        "sources.plan.as_configured": "cada {interval}, como está configurada",
        "sources.plan.stretched": "espaciada de {interval} a {planned} para no pasarse de la cuota",
        "sources.plan.waiting_for_reset": "cuota agotada: espera a la renovación",
        "sources.plan.unmeasured": "cada {interval}, como está configurada",
        "sources.coverage_lost": "cobertura perdida",
        "sources.slots_expiring.one": "{count} caduca el {at}",
        "sources.slots_expiring.other": "{count} caducan el {at}",
        "sources.token_expires": "El token caduca el {at}",
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

    def plural(self, key: str, count: int, **values: object) -> str:
        """A counted message: the form of KEY for `count`'s plural category, the count in the locale.

        `{count}` in the message is the formatted number ("1,234" / "1.234").
        """
        category = plural_category(self.lang, count)
        for lang in (self.lang, "en"):
            messages = MESSAGES[lang]
            text = messages.get(f"{key}.{category}") or messages.get(f"{key}.other")
            if text:
                return text.format(count=self.number(count), **values)
        return key

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
