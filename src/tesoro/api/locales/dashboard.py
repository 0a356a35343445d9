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
    "dashboard.kpis": "Key indicators (KPIs)",
    "dashboard.advocates": "Top advocates by ROR",
    "dashboard.brand": "Brand",
    "dashboard.period": "Period",
    "dashboard.period.7d": "Last 7 days",
    "dashboard.period.30d": "Last 30 days",
    "dashboard.period.90d": "Last 90 days",
    "dashboard.period.1y": "Last 12 months",
    "dashboard.window": "From {since} to {until}, compared with the same length of time before.",
    "dashboard.change_points": "{change} points against the previous period",
    "dashboard.advocates_help": (
        "People by Return on Relationship: the value each relationship has built up through loyalty and "
        "recommendations. Open a person to see how their score is made."
    ),
    "dashboard.rank": "Rank",
    "dashboard.person": "Person",
    "dashboard.ror": "ROR",
    "dashboard.months": "Months active",
    "dashboard.last_event": "Last event",
    "dashboard.computed": "Computed on {date}.",
    "dashboard.not_computed": "Not computed yet: the scheduler refreshes it every hour.",
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
    "dashboard.kpis": "Indicadores clave (KPI)",
    "dashboard.advocates": "Principales embajadores de marca",
    "dashboard.brand": "Marca",
    "dashboard.period": "Periodo",
    "dashboard.period.7d": "Últimos 7 días",
    "dashboard.period.30d": "Últimos 30 días",
    "dashboard.period.90d": "Últimos 90 días",
    "dashboard.period.1y": "Últimos 12 meses",
    "dashboard.window": "Del {since} al {until}, comparado con el periodo anterior de la misma duración.",
    "dashboard.change_points": "{change} puntos respecto al periodo anterior",
    "dashboard.advocates_help": (
        "Las personas según el retorno de la relación: el valor que cada relación ha acumulado gracias a la "
        "lealtad y las recomendaciones. Abre a una persona para ver cómo se forma su puntuación."
    ),
    "dashboard.rank": "Puesto",
    "dashboard.person": "Persona",
    "dashboard.ror": "ROR",
    "dashboard.months": "Meses activo",
    "dashboard.last_event": "Última acción",
    "dashboard.computed": "Calculado el {date}.",
    "dashboard.not_computed": "Aún sin calcular: el planificador lo actualiza cada hora.",
}
