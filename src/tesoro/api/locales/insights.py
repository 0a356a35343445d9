"""Words the author page and the dashboard share: the measures, their one-line explanations, the parts of
ROR, the kinds of relationship event, and what the charts say."""

EN: dict[str, str] = {
    # The charts drawn in the browser (static/charts.js).
    "chart.one_point": "Only one point so far: {date}.",
    "chart.values": "{name}: {value} ({date})",
    "chart.previous_none": "nothing to compare with",
    "chart.all_brands": "All brands",
    "platform.files": "Imported files",
    # ROR: the score and its four parts.
    "ror.name": "Return on Relationship (ROR)",
    "ror.help": (
        "The value this relationship has built up over time through loyalty and recommendations: "
        "the sum of the four parts below."
    ),
    "ror.for_brand": "For {brand}",
    "ror.as_of": "As of {date}",
    "ror.advocate": "Advocate",
    "ror.advocate_help": "An advocate from a ROR of {min}.",
    "ror.part.events": "Events",
    "ror.part.events.help": (
        "What they did with the brand (mentions, UGC, rights granted…); older events count less "
        "(half of it after {days} days)."
    ),
    "ror.part.loyalty": "Loyalty",
    "ror.part.loyalty.help": "Months in which they spoke well of the brand; it never fades.",
    "ror.part.advocacy": "Advocacy",
    "ror.part.advocacy.help": "How many people their UGC and recommendations reached.",
    "ror.part.sentiment_trend": "Sentiment trend",
    "ror.part.sentiment_trend.help": (
        "Whether their tone in the last {days} days is warmer than before (0 until both periods have a "
        "scored mention)."
    ),
    "ror.by_kind": "What counted",
    "ror.kind": "Event",
    "ror.count": "Times",
    "ror.contribution": "Points",
    "ror.history": "ROR over time",
    "ror.history_help": "The score at the end of each month, with older events fading.",
    "ror.months_active.one": "Active in {count} month",
    "ror.months_active.other": "Active in {count} months",
    "ror.logged_kind": "{kind} (logged by hand)",
    "event.mention": "Mentions",
    "event.positive_mention": "Positive mentions",
    "event.negative_mention": "Negative mentions",
    "event.ugc": "UGC (photos, videos, reviews)",
    "event.ugc_approved": "UGC approved",
    "event.ugc_featured": "UGC featured",
    "event.rights_granted": "Rights granted",
    "event.recommendation": "Recommendations to others",
    "event.brand_reply": "Replies from the brand",
    "event.replied_back": "Replies to the brand",
    "event.manual": "Logged by hand",
    # KPIs: names and one-line explanations.
    "kpi.mentions": "Mentions",
    "kpi.mentions.help": "Posts that talk about the brand (the brand's own posts left out).",
    "kpi.unique_authors": "People talking",
    "kpi.unique_authors.help": "Different authors of those mentions.",
    "kpi.potential_reach": "Potential reach",
    "kpi.potential_reach.help": "The followers of those authors, each counted once.",
    "kpi.interactions": "Interactions",
    "kpi.interactions.help": "Likes, replies, shares and comments on the mentions.",
    "kpi.net_sentiment": "Net sentiment",
    "kpi.net_sentiment.help": (
        "Positive minus negative mentions, as a share of the scored ones (\u2212100 % to +100 %)."
    ),
    "kpi.share_of_voice": "Share of voice",
    "kpi.share_of_voice.help": "The brand's mentions out of all mentions of it and its competitors.",
    "kpi.change": "{change} against the previous period",
    "kpi.sentiment_split": "Positive {positive} · neutral {neutral} · negative {negative}",
    "kpi.engagement": "Engagement rate against the platform median",
    "kpi.engagement.help": (
        "The median post's interactions divided by its views (or by the author's followers), against "
        "what is usual on that platform."
    ),
    "kpi.platform": "Platform",
    "kpi.rated": "Posts rated",
    "kpi.median_rate": "Engagement rate",
    "kpi.platform_median": "Platform median",
    "kpi.vs_median": "Against the median",
    "kpi.times_median": "{ratio}\u00d7 the median",
    "kpi.source.published": "published benchmark",
    "kpi.source.derived": "from collected posts",
    "kpi.roe": "Return on Engagement (ROE)",
    "kpi.roe.help": (
        "What each declared effort earned (interactions, plus {ugc} per piece of UGC) for each post "
        "published, hour worked and unit spent."
    ),
    "kpi.roe_none": "No efforts declared yet: add them as [[roe.effort]] in the settings file.",
    "kpi.target": "Effort",
    "kpi.dates": "Dates",
    "kpi.earned": "Earned",
    "kpi.per_post": "Per post",
    "kpi.per_hour": "Per hour",
    "kpi.per_spend": "Per unit spent",
    "kpi.trend": "Against the previous effort",
    "kpi.trend.per_post": "per post",
    "kpi.trend.per_hour": "per hour",
    "kpi.trend.per_spend": "per unit spent",
    "kpi.target_query": "Listening query “{name}”",
    "kpi.top_ugc": "Best UGC of the period",
    "kpi.top_ugc.help": "The period's posts with the highest treasure score.",
    "kpi.open_in_queue": "Open in the queue",
    "kpi.interactions_count.one": "{count} interaction",
    "kpi.interactions_count.other": "{count} interactions",
    "kpi.mentions_chart": "Mentions per day, by sentiment",
    "kpi.mentions_chart.week": "Mentions per week, by sentiment",
    "kpi.mentions_chart.month": "Mentions per month, by sentiment",
    "kpi.sentiment_chart": "Net sentiment over time",
    "kpi.sentiment.positive": "Positive",
    "kpi.sentiment.neutral": "Neutral",
    "kpi.sentiment.negative": "Negative",
    "kpi.sentiment.unscored": "Not scored yet",
}

ES: dict[str, str] = {
    "chart.one_point": "Por ahora hay un único punto: {date}.",
    "chart.values": "{name}: {value} ({date})",
    "chart.previous_none": "sin periodo con el que comparar",
    "chart.all_brands": "Todas las marcas",
    "platform.files": "Archivos importados",
    "ror.name": "Retorno de la relación (ROR)",
    "ror.help": (
        "El valor que esta relación ha ido acumulando con el tiempo gracias a la lealtad y las "
        "recomendaciones: la suma de las cuatro partes de abajo."
    ),
    "ror.for_brand": "Para {brand}",
    "ror.as_of": "A fecha de {date}",
    "ror.advocate": "Embajador",
    "ror.advocate_help": "Se considera embajador a partir de un ROR de {min}.",
    "ror.part.events": "Acciones",
    "ror.part.events.help": (
        "Lo que hizo con la marca (menciones, UGC, derechos cedidos…); lo antiguo cuenta menos "
        "(la mitad a los {days} días)."
    ),
    "ror.part.loyalty": "Lealtad",
    "ror.part.loyalty.help": "Meses en los que habló bien de la marca; no se desvanece con el tiempo.",
    "ror.part.advocacy": "Recomendación",
    "ror.part.advocacy.help": "A cuántas personas llegaron su UGC y sus recomendaciones.",
    "ror.part.sentiment_trend": "Tendencia del sentimiento",
    "ror.part.sentiment_trend.help": (
        "Si en los últimos {days} días habla de la marca con más calidez que antes (0 mientras no haya "
        "menciones valoradas en los dos periodos)."
    ),
    "ror.by_kind": "Qué ha contado",
    "ror.kind": "Acción",
    "ror.count": "Veces",
    "ror.contribution": "Puntos",
    "ror.history": "El ROR a lo largo del tiempo",
    "ror.history_help": "La puntuación al final de cada mes; lo antiguo va perdiendo peso.",
    "ror.months_active.one": "Activo durante {count} mes",
    "ror.months_active.other": "Activo durante {count} meses",
    "ror.logged_kind": "{kind} (registrado a mano)",
    "event.mention": "Menciones",
    "event.positive_mention": "Menciones positivas",
    "event.negative_mention": "Menciones negativas",
    "event.ugc": "UGC (fotos, vídeos, reseñas)",
    "event.ugc_approved": "UGC aprobado",
    "event.ugc_featured": "UGC destacado",
    "event.rights_granted": "Derechos cedidos",
    "event.recommendation": "Recomendaciones a otras personas",
    "event.brand_reply": "Respuestas de la marca",
    "event.replied_back": "Respuestas a la marca",
    "event.manual": "Registrado a mano",
    "kpi.mentions": "Menciones",
    "kpi.mentions.help": "Publicaciones que hablan de la marca (sin contar las de la propia marca).",
    "kpi.unique_authors": "Personas que hablan",
    "kpi.unique_authors.help": "Autores distintos de esas menciones.",
    "kpi.potential_reach": "Alcance potencial",
    "kpi.potential_reach.help": "Los seguidores de esos autores, cada uno contado una vez.",
    "kpi.interactions": "Interacciones",
    "kpi.interactions.help": "Me gusta, respuestas, compartidos y comentarios de las menciones.",
    "kpi.net_sentiment": "Sentimiento neto",
    "kpi.net_sentiment.help": (
        "Menciones positivas menos negativas, sobre el total de las valoradas (de \u2212100 % a +100 %)."
    ),
    "kpi.share_of_voice": "Cuota de voz",
    "kpi.share_of_voice.help": "Las menciones de la marca sobre todas las suyas y las de la competencia.",
    "kpi.change": "{change} respecto al periodo anterior",
    "kpi.sentiment_split": "Positivas {positive} · neutras {neutral} · negativas {negative}",
    "kpi.engagement": "Tasa de interacción frente a la mediana de cada plataforma",
    "kpi.engagement.help": (
        "Las interacciones de la publicación mediana divididas entre sus visualizaciones (o los seguidores "
        "del autor), frente a lo habitual en esa plataforma."
    ),
    "kpi.platform": "Plataforma",
    "kpi.rated": "Publicaciones medidas",
    "kpi.median_rate": "Tasa de interacción",
    "kpi.platform_median": "Mediana de la plataforma",
    "kpi.vs_median": "Frente a la mediana",
    "kpi.times_median": "{ratio} veces la mediana",
    "kpi.source.published": "referencia publicada",
    "kpi.source.derived": "de las publicaciones recogidas",
    "kpi.roe": "Retorno de la interacción (ROE)",
    "kpi.roe.help": (
        "Lo que obtuvo cada esfuerzo declarado (interacciones, más {ugc} por cada pieza de UGC) por "
        "publicación, por hora de trabajo y por unidad invertida."
    ),
    "kpi.roe_none": (
        "Aún no hay esfuerzos declarados: añádelos como [[roe.effort]] en el archivo de configuración."
    ),
    "kpi.target": "Esfuerzo",
    "kpi.dates": "Fechas",
    "kpi.earned": "Obtenido",
    "kpi.per_post": "Por publicación",
    "kpi.per_hour": "Por hora",
    "kpi.per_spend": "Por unidad invertida",
    "kpi.trend": "Frente al esfuerzo anterior",
    "kpi.trend.per_post": "por publicación",
    "kpi.trend.per_hour": "por hora",
    "kpi.trend.per_spend": "por unidad invertida",
    "kpi.target_query": "Consulta de escucha «{name}»",
    "kpi.top_ugc": "El mejor UGC del periodo",
    "kpi.top_ugc.help": "Las publicaciones del periodo con la puntuación de tesoro más alta.",
    "kpi.open_in_queue": "Abrir en la cola",
    "kpi.interactions_count.one": "{count} interacción",
    "kpi.interactions_count.other": "{count} interacciones",
    "kpi.mentions_chart": "Menciones por día, según el sentimiento",
    "kpi.mentions_chart.week": "Menciones por semana, según el sentimiento",
    "kpi.mentions_chart.month": "Menciones por mes, según el sentimiento",
    "kpi.sentiment_chart": "Evolución del sentimiento neto",
    "kpi.sentiment.positive": "Positivas",
    "kpi.sentiment.neutral": "Neutras",
    "kpi.sentiment.negative": "Negativas",
    "kpi.sentiment.unscored": "Aún sin valorar",
}
