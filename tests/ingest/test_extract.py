import pytest

from services.ingest.extract import extract

PAGE = """<html><head><title>Page title</title>
<meta property="og:title" content="Social title">
<link rel="canonical" href="/politik/gespraeche"></head>
<body><header>Site header</header><nav>Home | Politik</nav>
<article><h1>Gespräche in Riad</h1><p>Die USA und <b>Russland</b> verhandeln.</p>
<p>Zweiter<br>Absatz</p><script>track()</script><aside>Mehr zum Thema</aside></article>
<footer>Impressum</footer></body></html>"""


def test_page_furniture_is_dropped() -> None:
    text = extract(PAGE).text
    for furniture in ("Site header", "Home | Politik", "track()", "Mehr zum Thema", "Impressum"):
        assert furniture not in text


def test_blocks_become_lines_and_inline_tags_do_not_split_sentences() -> None:
    assert (
        extract(PAGE).text == "Gespräche in Riad\nDie USA und Russland verhandeln.\nZweiter\nAbsatz"
    )


def test_social_title_is_preferred_over_the_page_title() -> None:
    assert extract(PAGE).title == "Social title"


def test_canonical_link_is_resolved_against_the_page_url() -> None:
    assert extract(PAGE, "https://zeitung.example/x?y=1").canonical_link == (
        "https://zeitung.example/politik/gespraeche"
    )


def test_body_is_used_when_there_is_no_article_element() -> None:
    assert extract("<body><p>Nur Text</p><footer>f</footer></body>").text == "Nur Text"


def test_deeply_nested_markup_is_reduced_to_its_text() -> None:
    assert extract("<div>" * 20000 + "innen").text == "innen"


def test_comments_are_not_article_text() -> None:
    assert extract("<div><p>a</p>tail<!-- note --></div>").text == "a\ntail"


def test_without_a_social_title_the_headline_is_the_title() -> None:
    page = """<html><head><title>Talks resume in Riyadh | The Morning Post</title></head>
    <body><article><h1>Talks resume in Riyadh</h1><p>Delegations met.</p></article></body></html>"""
    assert extract(page).title == "Talks resume in Riyadh"


@pytest.mark.parametrize(
    "page_title",
    [
        "Talks resume in Riyadh | The Morning Post",
        "Talks resume in Riyadh – The Morning Post",
        "Talks resume in Riyadh - The Morning Post",
    ],
)
def test_the_page_title_loses_the_sites_name(page_title: str) -> None:
    page = f"<html><head><title>{page_title}</title></head><body><p>Delegations met.</p></body>"
    assert extract(page).title == "Talks resume in Riyadh"


def test_the_page_title_loses_the_site_name_the_page_declares() -> None:
    page = """<html><head><title>Gespräche in Riad - Ein Überblick · Morgenpost</title>
    <meta property="og:site_name" content="Morgenpost"></head><body><p>Text.</p></body>"""
    assert extract(page).title == "Gespräche in Riad - Ein Überblick"


def test_a_page_title_that_is_only_a_name_stays_whole() -> None:
    page = "<html><head><title>The Morning Post</title></head><body><p>Text.</p></body>"
    assert extract(page).title == "The Morning Post"
