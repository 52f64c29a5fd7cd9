"""Store read API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.store import repository
from services.store.compare import Segment, side_by_side
from services.store.page import PAGE
from services.store.schemas import (
    ArticlesPage,
    CompareSide,
    Comparison,
    DuplicatesPage,
    SegmentOut,
    Stats,
    StoredArticle,
    StoriesPage,
    StoryDetail,
    VersionsPage,
)

router = APIRouter()
page_router = APIRouter()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ArticleId = Annotated[str, Query(min_length=1, max_length=32)]


async def database_ping(request: Request) -> object:
    async with request.app.state.sessions() as session:
        return await session.execute(text("SELECT 1"))


def _not_found(article_id: str) -> HTTPException:
    return HTTPException(404, detail=f"no stored article with id {article_id!r}")


@router.get(
    "/articles/{article_id}",
    response_model=StoredArticle,
    responses={307: {"description": "the id is an update: a version of this other article"}},
)
async def get_article(article_id: str, session: SessionDep) -> StoredArticle | RedirectResponse:
    article = await repository.get_article(session, article_id)
    if article is None:
        parent = await repository.version_parent(session, article_id)
        if parent is not None and parent != article_id:
            return RedirectResponse(f"/articles/{parent}", status_code=307)
        raise _not_found(article_id)
    return article


@router.get("/articles/{article_id}/versions", response_model=VersionsPage)
async def get_versions(article_id: str, session: SessionDep) -> VersionsPage:
    """The article's texts, oldest first; the last one is what ``/articles/{id}`` shows."""
    versions = await repository.versions_of(session, article_id)
    if versions is None:
        raise _not_found(article_id)
    return VersionsPage(article_id=article_id, versions=versions)


@router.get("/articles/{article_id}/duplicates", response_model=DuplicatesPage)
async def get_duplicates(article_id: str, session: SessionDep) -> DuplicatesPage:
    article = await repository.get_article(session, article_id)
    if article is None:
        raise _not_found(article_id)
    return DuplicatesPage(
        canonical_id=article.canonical_id,
        duplicates=await repository.duplicates_of(session, article.canonical_id),
    )


@router.get("/articles", response_model=ArticlesPage)
async def list_articles(
    session: SessionDep,
    status: Literal["canonical", "duplicate"] | None = None,
    source: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
) -> ArticlesPage:
    items, next_cursor = await repository.list_articles(
        session, status=status, source=source, limit=limit, cursor=cursor
    )
    return ArticlesPage(items=items, next_cursor=next_cursor)


@router.get("/stats", response_model=Stats)
async def get_stats(session: SessionDep) -> Stats:
    return await repository.stats(session)


@router.get("/stories", response_model=StoriesPage)
async def list_stories(
    session: SessionDep,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> StoriesPage:
    """Stories with an article ingested at or after ``since`` (ISO 8601), most recent first."""
    return StoriesPage(items=await repository.list_stories(session, since=since, limit=limit))


@router.get("/stories/{story_id}", response_model=StoryDetail)
async def get_story(story_id: str, session: SessionDep) -> StoryDetail:
    story = await repository.get_story(session, story_id)
    if story is None:
        raise HTTPException(404, detail=f"no stored story with id {story_id!r}")
    return story


def _side(article: StoredArticle, segments: list[Segment]) -> CompareSide:
    return CompareSide(
        id=article.id, title=article.title, headline=article.headline, source=article.source,
        status=article.status,
        segments=[SegmentOut(text=s.text, changed=s.changed) for s in segments],
    )  # fmt: skip


@router.get("/articles/{article_id}/compare/{other_id}", response_model=Comparison)
async def compare(article_id: str, other_id: str, session: SessionDep) -> Comparison:
    left = await repository.get_article(session, article_id)
    right = await repository.get_article(session, other_id)
    for wanted, found in ((article_id, left), (other_id, right)):
        if found is None:
            raise _not_found(wanted)
    assert left is not None and right is not None
    left_segments, right_segments = side_by_side(left.text, right.text)
    return Comparison(left=_side(left, left_segments), right=_side(right, right_segments))


@page_router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page() -> HTMLResponse:
    """A read-only page over the API: recent stories, and an article beside its duplicates."""
    return HTMLResponse(PAGE)
