from tesoro.text.excerpt import excerpt


def test_short_text_is_kept_on_one_line() -> None:
    assert excerpt("Great grip\n\non the   Cumbre") == "Great grip on the Cumbre"


def test_long_text_is_cut_at_a_word_and_marked() -> None:
    text = "Tres años con mi tabla Marea Surf Brisa y sigue como el primer día, la mejor que he tenido nunca"
    cut = excerpt(text, limit=40)
    assert cut == "Tres años con mi tabla Marea Surf Brisa…"
    assert len(cut) <= 40


def test_one_endless_word_is_cut_where_it_must_be() -> None:
    cut = excerpt("#" + "a" * 200, limit=30)
    assert len(cut) == 30 and cut.endswith("…")


def test_punctuation_before_the_cut_is_dropped() -> None:
    assert excerpt("One, two, three, four, five, six", limit=16) == "One, two, three…"
