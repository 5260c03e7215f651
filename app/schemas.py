"""Response shapes for the OpenAPI document (bodies are serialised with orjson)."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProblemError(Model):
    field: str | None = None
    param: str | None = None
    message: str


class ProblemOut(Model):
    type: str = Field(examples=["about:blank"])
    title: str = Field(examples=["Unprocessable Content"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["minQuality must not be greater than maxQuality"])
    errors: list[ProblemError] = []


class ProviderRef(Model):
    name: str = Field(examples=["Sky"])
    domain: str = Field(examples=["sky.com"])


class TopicRef(Model):
    name: str = Field(examples=["Computer Vision"])
    slug: str = Field(examples=["computer-vision"])


class Image(Model):
    url: str
    width: int | None
    height: int | None
    isCached: bool | None  # noqa: N815
    title: str | None
    attribution: str | None


class ArticleItem(Model):
    id: str = Field(examples=["1b5f2c3d4e5f6a7b"])
    title: str | None = Field(examples=["Serco ordered to stop using facial recognition"])
    excerpt: str | None
    category: str | None = Field(examples=["news"])
    type: str | None = Field(examples=["article"])
    published: bool
    locale: str | None = Field(examples=["en-us"])
    publishedDateTime: str | None = Field(examples=["2024-02-23T12:09:00Z"])  # noqa: N815
    updatedDateTime: str | None  # noqa: N815
    webUrl: str | None  # noqa: N815
    originalUrl: str | None  # noqa: N815
    ampWebUrl: str | None  # noqa: N815
    cdnAmpWebUrl: str | None  # noqa: N815
    quality: int | None = Field(examples=[57])
    heat: int | None = Field(examples=[77])
    provider: ProviderRef | None
    topics: list[TopicRef]
    tags: list[str]
    images: list[Image]
    relatedCount: int  # noqa: N815
    stub: bool


class RelatedItem(ArticleItem):
    direction: Literal["outgoing", "incoming"]


class ArticleDetail(ArticleItem):
    body: str | None
    related: list[RelatedItem]
    secured: str | None
    extra: dict[str, Any] | None
    ingestedAt: str  # noqa: N815
    sourceSha256: str | None  # noqa: N815


class FacetValue(Model):
    value: str
    name: str
    count: int


class Page(Model):
    nextCursor: str | None = Field(description="pass as `cursor` for the next page")  # noqa: N815
    total: int | None = Field(description="exact number of matches with `count=true`")
    facets: dict[str, list[FacetValue]] | None


class ArticlePage(Page):
    items: list[ArticleItem]


class RelatedPage(Page):
    items: list[RelatedItem]


class Provider(Model):
    domain: str = Field(examples=["sky.com"])
    name: str = Field(examples=["Sky"])
    articleCount: int  # noqa: N815
    avgQuality: float | None  # noqa: N815
    avgHeat: float | None  # noqa: N815


class ProviderPage(Page):
    items: list[Provider]


class Topic(Model):
    slug: str = Field(examples=["computer-vision"])
    name: str = Field(examples=["Computer Vision"])
    articleCount: int  # noqa: N815


class TopicPage(Page):
    items: list[Topic]


class UploadError(Model):
    field: str | None
    message: str


class UploadResult(Model):
    source: str = Field(examples=["batch.zip/2024/a.md"])
    status: Literal["created", "updated", "unchanged", "rejected"]
    id: str | None
    webUrl: str | None  # noqa: N815
    errors: list[UploadError]


class UploadSummary(Model):
    created: int
    updated: int
    unchanged: int
    rejected: int


class UploadReport(Model):
    id: str
    results: list[UploadResult]
    summary: UploadSummary


PROBLEM = {"model": ProblemOut, "content": {"application/problem+json": {}}}
