"""The library (the hidden-treasure search)."""

EN: dict[str, str] = {
    "library.title": "Library",
    "library.search": "Search posts",
    "library.submit": "Search",
    "library.results.one": "{count} post",
    "library.results.other": "{count} posts",
    "library.no_results": "No posts match.",
    "library.clear": "Clear filters",
}

ES: dict[str, str] = {
    "library.title": "Biblioteca",
    "library.search": "Buscar publicaciones",
    "library.submit": "Buscar",
    "library.results.one": "{count} publicación",
    "library.results.many": "{count} de publicaciones",
    "library.results.other": "{count} publicaciones",
    "library.no_results": "Ninguna publicación coincide.",
    "library.clear": "Quitar filtros",
}
