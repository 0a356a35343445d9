"""The rights workflow's states and actions."""

EN: dict[str, str] = {
    "rights.none": "No rights",
    "rights.requested": "Rights requested",
    "rights.granted": "Rights granted",
    "rights.declined": "Rights declined",
    "rights.expired": "Rights expired",
    "rights.revoked": "Rights revoked",
    "rights.request": "Ask for rights",
    "rights.request_all": "Ask for rights on every post shown",
    "rights.requested_n.one": "Rights requested for {count} post",
    "rights.requested_n.other": "Rights requested for {count} posts",
}

ES: dict[str, str] = {
    "rights.none": "Sin derechos",
    "rights.requested": "Derechos solicitados",
    "rights.granted": "Derechos concedidos",
    "rights.declined": "Derechos denegados",
    "rights.expired": "Derechos vencidos",
    "rights.revoked": "Derechos revocados",
    "rights.request": "Pedir derechos",
    "rights.request_all": "Pedir derechos de todas las publicaciones mostradas",
    "rights.requested_n.one": "Derechos pedidos para {count} publicación",
    "rights.requested_n.many": "Derechos pedidos para {count} de publicaciones",
    "rights.requested_n.other": "Derechos pedidos para {count} publicaciones",
}
