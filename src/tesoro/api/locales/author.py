"""An author's page: the relationship (ROR) and their posts."""

EN: dict[str, str] = {
    "author.followers": "Followers",
    "author.following": "Following",
    "author.posts": "Posts",
    "author.approved": "Approved or featured",
    "author.first_seen": "First seen",
    "author.linked": "Same person on",
    "author.activity": "Posts per month",
    "author.all_advocates": "All advocates",
    "author.recent": "Recent posts",
    "author.profile": "Their profile on the platform",
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
}

ES: dict[str, str] = {
    "author.followers": "Seguidores",
    "author.following": "Siguiendo",
    "author.posts": "Publicaciones",
    "author.approved": "Aprobadas o destacadas",
    "author.first_seen": "Visto por primera vez",
    "author.linked": "La misma persona en",
    "author.activity": "Publicaciones por mes",
    "author.all_advocates": "Todos los embajadores",
    "author.recent": "Publicaciones recientes",
    "author.profile": "Su perfil en la plataforma",
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
}
