"""The one error type a document can be rejected with."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    field: str | None
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "message": self.message}


@dataclass
class DocumentError(Exception):
    """A document was rejected; `errors` says why, field by field."""

    errors: list[FieldError] = field(default_factory=list)

    @classmethod
    def single(cls, message: str, field: str | None = None) -> "DocumentError":
        return cls([FieldError(field, message)])

    def __str__(self) -> str:
        return "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in self.errors)
