"""The dashboard: KPIs, ROE and charts."""

EN: dict[str, str] = {
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
}

ES: dict[str, str] = {
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
}
